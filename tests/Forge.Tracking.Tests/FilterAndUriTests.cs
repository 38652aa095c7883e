using Forge.Core;

namespace Forge.Tracking.Tests;

public sealed class FilterAndUriTests
{
    [Fact]
    public void Filters_parse_into_typed_clauses()
    {
        var clauses = RunFilter.ParseFilter("metrics.testAccuracy > 0.99 and params.model = 'cnn' AND tags.`my key` != \"it's\" and status = 'finished'");
        Assert.Equal(
            [
                new FilterClause(new Entity(EntityKind.Metric, "testAccuracy"), ">", 0.99),
                new FilterClause(new Entity(EntityKind.Param, "model"), "=", "cnn"),
                new FilterClause(new Entity(EntityKind.Tag, "my key"), "<>", "it's"),
                new FilterClause(new Entity(EntityKind.Attribute, "status"), "=", "FINISHED"),
            ],
            clauses);
        Assert.Empty(RunFilter.ParseFilter("  "));
        Assert.Equal([new SortKey(new Entity(EntityKind.Metric, "acc"), true), new SortKey(new Entity(EntityKind.Attribute, "start_time"), false)],
            RunFilter.ParseOrderBy("metrics.acc DESC, start_time"));
    }

    [Theory]
    [InlineData("metrics.acc >> 0.5", "column 14", "expected a number")]
    [InlineData("metrics.acc = 'high'", "column 15", "compared with numbers")]
    [InlineData("params.model > 'cnn'", "column 14", "is text")]
    [InlineData("params.model = cnn", "column 16", "expected a number or a 'quoted string'")]
    [InlineData("metric.acc > 1 or status = 'RUNNING'", "column 16", "OR is not supported")]
    [InlineData("metrix.acc > 1", "column 1", "did you mean 'metrics'")]
    [InlineData("statu = 'RUNNING'", "column 1", "did you mean 'status'")]
    [InlineData("status = 'DONE'", "column 10", "unknown status 'DONE'")]
    [InlineData("params.model = 'cnn", "column 16", "never closed")]
    [InlineData("metrics.acc", "column 12", "expected an operator")]
    [InlineData("metrics.acc > 1 params.x = 'y'", "column 17", "expected AND")]
    public void A_bad_filter_names_the_column_and_the_problem(string filter, string column, string problem)
    {
        var error = Assert.Throws<UsageException>(() => RunFilter.ParseFilter(filter));
        Assert.Contains(column, error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.EndsWith(filter, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("metrics.acc sideways")]
    [InlineData("colour")]
    [InlineData("metrics.acc DESC name")]
    public void A_bad_sort_is_refused(string orderBy) => Assert.Throws<UsageException>(() => RunFilter.ParseOrderBy(orderBy));

    [Fact]
    public void Uris_select_the_backend()
    {
        Assert.Equal("/tmp/x/forge.db", TrackingUri.Parse("sqlite:///tmp/x/forge.db").SqlitePath);
        Assert.Equal(Path.GetFullPath("rel/forge.db"), TrackingUri.Parse("rel/forge.db").SqlitePath);
        var pg = TrackingUri.Parse("postgresql://me:p%40ss@db.example:6543/forge?schema=Team1");
        Assert.True(pg.IsPostgres);
        Assert.Equal(("db.example", 6543, "forge", "me", "p@ss", "team1"), (pg.Host, pg.Port, pg.Database, pg.User, pg.Password, pg.Schema));
        Assert.Equal("postgresql://me@db.example:6543/forge?schema=team1", pg.Display);
        Assert.Equal(5432, TrackingUri.Parse("postgres://me@localhost/forge").Port);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("mysql://u:p@h/db", "unsupported scheme 'mysql'")]
    [InlineData("sqlite://host/forge.db", "names a host")]
    [InlineData("sqlite:///", "names no database file")]
    [InlineData("postgresql://u:secret@h:notaport/db", "malformed")]
    [InlineData("postgresql://u:secret@h:5432/", "names no database")]
    [InlineData("postgresql://h:5432/db", "names no user")]
    [InlineData("postgresql://u@h/db?schema=drop table", "schema")]
    [InlineData("postgresql://u@h/db?colour=blue", "unknown option 'colour'")]
    public void A_malformed_uri_says_what_is_wrong_and_never_shows_the_password(string uri, string problem)
    {
        var error = Assert.Throws<UsageException>(() => TrackingStore.Open(uri));
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreachable_postgresql_is_named_by_host_and_port()
    {
        // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
        var error = Assert.Throws<ForgeException>(() => TrackingStore.Open("postgresql://forge:secret@127.0.0.1:1/forge"));
        Assert.Contains("127.0.0.1:1", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_null_logger_records_nothing_and_never_fails()
    {
        using IRunLogger logger = NullRunLogger.Instance;
        logger.LogParams(new Dictionary<string, string> { ["a"] = "b" });
        logger.LogMetric("loss", 1, 0);
        logger.LogArtifact("/no/such/file");
        logger.End(RunStatus.Failed);
        Assert.Equal("", logger.RunId);
    }
}
