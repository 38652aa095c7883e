using System.Net.Sockets;
using System.Reflection;
using Xunit.Sdk;

namespace Forge.Tests.Shared;

/// <summary>
/// The PostgreSQL server tests use: <c>FORGE_TEST_POSTGRES</c>, or the role/database .ci/setup creates. Reachability is a
/// plain TCP connect, so this file needs no database driver.
/// </summary>
internal static class TestPostgres
{
    public const string Variable = "FORGE_TEST_POSTGRES";
    public const string DefaultUri = "postgresql://forge:forge@127.0.0.1:5432/forge_test";

    public static string Uri
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(Variable);
            return string.IsNullOrWhiteSpace(configured) ? DefaultUri : configured.Trim();
        }
    }

    private static readonly Lazy<string?> Problem = new(FindProblem);

    /// <summary>Why the server cannot be used, or null when it answers.</summary>
    public static string? UnreachableReason => Problem.Value;

    private static string? FindProblem()
    {
        if (!System.Uri.TryCreate(Uri, UriKind.Absolute, out var parsed)) return $"{Variable} '{Uri}' is not a URI";
        var port = parsed.Port > 0 ? parsed.Port : 5432;
        try
        {
            using var client = new TcpClient();
            if (!client.ConnectAsync(parsed.Host, port).Wait(TimeSpan.FromSeconds(2))) return $"nothing answers at {parsed.Host}:{port}";
            return null;
        }
        catch (Exception ex) when (ex is SocketException or AggregateException)
        {
            return $"nothing answers at {parsed.Host}:{port} ({ex.GetBaseException().Message})";
        }
    }

    /// <summary>The skip reason for a PostgreSQL test: null (run it) when the server answers or CI=true (so it fails loudly).</summary>
    public static string? SkipReason =>
        UnreachableReason is { } reason && !SharedData.IsCi
            ? $"PostgreSQL not available: {reason}; run .ci/setup or set {Variable} (with CI=true this is a failure)"
            : null;
}

/// <summary>
/// Theory data naming the PostgreSQL backend: one row, <c>"postgresql"</c>. Without a server the row is skipped, with the
/// reason, on a developer machine; with CI=true it runs and so fails: a CI run must never pass by silently skipping.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class PostgresBackendAttribute : DataAttribute
{
    public PostgresBackendAttribute() => Skip = TestPostgres.SkipReason;

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [["postgresql"]];
}

/// <summary>A fact that needs PostgreSQL; skipped without it on a developer machine, failing without it under CI=true.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute() => Skip = TestPostgres.SkipReason;
}
