using System.Globalization;
using System.Text.RegularExpressions;
using Forge.Core;

namespace Forge.Tracking;

/// <summary>A parsed tracking URI: a SQLite file or a PostgreSQL server.</summary>
internal sealed partial record TrackingUri
{
    public const int DefaultPostgresPort = 5432;

    public bool IsPostgres { get; private init; }

    /// <summary>The SQLite database file (absolute).</summary>
    public string SqlitePath { get; private init; } = "";

    public string Host { get; private init; } = "";
    public int Port { get; private init; } = DefaultPostgresPort;
    public string Database { get; private init; } = "";
    public string User { get; private init; } = "";
    public string? Password { get; private init; }

    /// <summary>The PostgreSQL schema holding Forge's tables; null means the server's search path (usually "public").</summary>
    public string? Schema { get; private init; }

    public string? SslMode { get; private init; }

    /// <summary>The URI as shown to people: never with the password.</summary>
    public string Display => IsPostgres
        ? $"postgresql://{User}@{Host}:{Port.ToString(CultureInfo.InvariantCulture)}/{Database}{(Schema is null ? "" : "?schema=" + Schema)}"
        : SqlitePath;

    /// <summary>Parses an explicit URI, or (when null) FORGE_TRACKING_URI, or else the default SQLite file in FORGE_HOME.</summary>
    public static TrackingUri Resolve(string? uri)
    {
        if (uri is null)
        {
            var fromEnvironment = Environment.GetEnvironmentVariable(TrackingStore.UriVariable);
            if (string.IsNullOrWhiteSpace(fromEnvironment))
                return new TrackingUri { SqlitePath = Path.Combine(ForgeHome.Directory, "forge.db") };
            uri = fromEnvironment;
        }
        return Parse(uri);
    }

    public static TrackingUri Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var text = uri.Trim();
        if (text.Length == 0) throw new UsageException("the tracking URI is empty; give a file path, sqlite:///path or postgresql://user:password@host:port/database");
        var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0) return new TrackingUri { SqlitePath = Path.GetFullPath(text) };
        var scheme = text[..schemeEnd].ToLowerInvariant();
        return scheme switch
        {
            "sqlite" => ParseSqlite(text),
            "postgresql" or "postgres" => ParsePostgres(text),
            _ => throw new UsageException(
                $"tracking URI '{Redact(text)}' has an unsupported scheme '{text[..schemeEnd]}'; use a file path, sqlite:///path or postgresql://…"),
        };
    }

    private static TrackingUri ParseSqlite(string text)
    {
        // sqlite:///abs/path: the authority is empty and the rest is the absolute path, as SQLAlchemy and MLflow write it.
        var rest = text["sqlite://".Length..];
        if (!rest.StartsWith('/'))
            throw new UsageException($"tracking URI '{text}' names a host; a SQLite URI is sqlite:///absolute/path/to/forge.db");
        if (rest.Length == 1) throw new UsageException($"tracking URI '{text}' names no database file; write sqlite:///absolute/path/to/forge.db");
        return new TrackingUri { SqlitePath = Path.GetFullPath(Uri.UnescapeDataString(rest)) };
    }

    private static TrackingUri ParsePostgres(string text)
    {
        const string Expected = "expected postgresql://user:password@host:port/database";
        var shown = Redact(text);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed))
            throw new UsageException($"tracking URI '{shown}' is malformed ({Expected}; check the port and escape special characters in the password with %XX)");
        if (string.IsNullOrEmpty(parsed.Host)) throw new UsageException($"tracking URI '{shown}' names no host ({Expected})");
        var database = Uri.UnescapeDataString(parsed.AbsolutePath.Trim('/'));
        if (database.Length == 0) throw new UsageException($"tracking URI '{shown}' names no database ({Expected})");
        if (database.Contains('/', StringComparison.Ordinal)) throw new UsageException($"tracking URI '{shown}': the database name may not contain '/'");
        var userInfo = parsed.UserInfo;
        if (userInfo.Length == 0) throw new UsageException($"tracking URI '{shown}' names no user ({Expected})");
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        var user = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
        var password = colon < 0 ? null : Uri.UnescapeDataString(userInfo[(colon + 1)..]);
        if (user.Length == 0) throw new UsageException($"tracking URI '{shown}' names no user ({Expected})");

        string? schema = null, sslMode = null;
        var query = parsed.Query.TrimStart('?');
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (key.ToLowerInvariant())
            {
                case "schema":
                    if (!IdentifierPattern().IsMatch(value))
                        throw new UsageException($"tracking URI '{shown}': schema '{value}' must be letters, digits and '_', starting with a letter or '_'");
                    schema = value.ToLowerInvariant();
                    break;
                case "sslmode":
                    sslMode = value;
                    break;
                default:
                    throw new UsageException($"tracking URI '{shown}': unknown option '{key}' (known: schema, sslmode)");
            }
        }
        return new TrackingUri
        {
            IsPostgres = true,
            Host = parsed.Host,
            Port = parsed.IsDefaultPort || parsed.Port < 0 ? DefaultPostgresPort : parsed.Port,
            Database = database,
            User = user,
            Password = password,
            Schema = schema,
            SslMode = sslMode,
        };
    }

    /// <summary>Hides the password of a URI so error messages can quote it.</summary>
    internal static string Redact(string uri) => PasswordPattern().Replace(uri, "$1:***@");

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    private static partial Regex IdentifierPattern();

    [GeneratedRegex("(://[^:/@]*):[^@/]*@")]
    private static partial Regex PasswordPattern();
}
