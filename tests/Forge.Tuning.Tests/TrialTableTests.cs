using System.Text.Json;

namespace Forge.Tuning.Tests;

/// <summary>The exports of a study: the trial table (rows, CSV, aligned text) and the JSON document.</summary>
public sealed class TrialTableTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static FrozenTrial Trial(int number, TrialState state, double? value, IReadOnlyDictionary<string, (double Value, Distribution Distribution)> parameters,
        string? failReason = null, IEnumerable<KeyValuePair<long, double>>? steps = null, IReadOnlyDictionary<string, string>? user = null,
        TimeSpan? ran = null, bool retried = false)
    {
        var system = failReason is null ? null : new Dictionary<string, string> { [FrozenTrial.FailReasonKey] = ScalarValues.ToJson(failReason) };
        return new FrozenTrial(number + 100, number, state, value, parameters.ToDictionary(p => p.Key, p => p.Value.Distribution),
            parameters.ToDictionary(p => p.Key, p => p.Value.Value), steps, user, system,
            started: ran is null ? null : Start, completed: ran is { } r ? Start + r : null, retried: retried);
    }

    private static readonly Dictionary<string, (double, Distribution)> NoParams = [];

    [Fact]
    public void Rows_follow_trial_numbers_and_columns_sort_parameter_names_ordinally()
    {
        var flag = new CategoricalDistribution([true, false]);
        var trials = new[]
        {
            Trial(2, TrialState.Fail, null, new Dictionary<string, (double, Distribution)> { ["a"] = (0, flag) }, failReason: "bad"),
            Trial(0, TrialState.Complete, 0.1, new Dictionary<string, (double, Distribution)> { ["b"] = (3, new IntDistribution(0, 9)), ["B"] = (0.5, new FloatDistribution(0, 1)) },
                ran: TimeSpan.FromMilliseconds(1500)),
            Trial(1, TrialState.Pruned, null, NoParams),
        };
        var table = TrialTable.From(trials);
        Assert.Equal(["number", "state", "value", "params.B", "params.a", "params.b", "duration_s", "fail_reason"], table.Columns);
        Assert.Equal(new object?[] { 0L, "COMPLETE", 0.1, 0.5, null, 3, 1.5, null }, table.Rows[0]);
        Assert.Equal(new object?[] { 1L, "PRUNED", null, null, null, null, null, null }, table.Rows[1]);
        Assert.Equal(new object?[] { 2L, "FAIL", null, null, true, null, null, "bad" }, table.Rows[2]);
        Assert.Equal(
            "number,state,value,params.B,params.a,params.b,duration_s,fail_reason\n" +
            "0,COMPLETE,0.1,0.5,,3,1.5,\n" +
            "1,PRUNED,,,,,,\n" +
            "2,FAIL,,,true,,,bad\n",
            table.ToCsv().ReplaceLineEndings("\n"));
        Assert.Equal(
            "number  state     value  params.B  params.a  params.b  duration_s  fail_reason\n" +
            "0       COMPLETE  0.1    0.5                 3         1.5\n" +
            "1       PRUNED\n" +
            "2       FAIL                       true                            bad\n",
            table.ToString().ReplaceLineEndings("\n"));
        Assert.Throws<ArgumentNullException>(() => TrialTable.From(null!));
    }

    [Fact]
    public void Csv_quotes_commas_quotes_and_line_breaks_and_doubles_keep_six_digits()
    {
        var choice = new CategoricalDistribution(["plain", "line\nbreak", "carriage\rreturn", "say \"hi\"", "a,b"]);
        var trials = Enumerable.Range(0, 5).Select(i => Trial(i, TrialState.Complete, 1.0 / 3 * Math.Pow(10, i),
            new Dictionary<string, (double, Distribution)> { ["odd,name"] = (i, choice) })).ToList();
        var csv = TrialTable.From(trials).ToCsv();
        Assert.StartsWith("number,state,value,\"params.odd,name\",duration_s,fail_reason" + Environment.NewLine, csv, StringComparison.Ordinal);
        Assert.Contains(Environment.NewLine + "0,COMPLETE,0.333333,plain,," + Environment.NewLine, csv, StringComparison.Ordinal);
        Assert.Contains(Environment.NewLine + "1,COMPLETE,3.33333,\"line\nbreak\",," + Environment.NewLine, csv, StringComparison.Ordinal);
        Assert.Contains(Environment.NewLine + "2,COMPLETE,33.3333,\"carriage\rreturn\",," + Environment.NewLine, csv, StringComparison.Ordinal);
        Assert.Contains(Environment.NewLine + "3,COMPLETE,333.333,\"say \"\"hi\"\"\",," + Environment.NewLine, csv, StringComparison.Ordinal);
        Assert.EndsWith(Environment.NewLine + "4,COMPLETE,3333.33,\"a,b\",," + Environment.NewLine, csv, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_study_exports_headers_only()
    {
        var table = TrialTable.From([]);
        Assert.Empty(table.Rows);
        Assert.Equal("number,state,value,duration_s,fail_reason" + Environment.NewLine, table.ToCsv());
        Assert.Equal("number  state  value  duration_s  fail_reason" + Environment.NewLine, table.ToString());
    }

    [Fact]
    public void The_json_document_carries_the_best_trial_counts_and_every_trial_detail()
    {
        var study = Study.Create(new StudyOptions { Name = "doc", Direction = StudyDirection.Maximize });
        var x = new FloatDistribution(0, 1);
        var trials = new[]
        {
            Trial(1, TrialState.Complete, 0.75, new Dictionary<string, (double, Distribution)> { ["x"] = (0.5, x) }, ran: TimeSpan.FromMilliseconds(1234.56),
                steps: [new(0, double.NaN), new(10, 0.5)], user: new Dictionary<string, string> { ["tag"] = "\"v1\"", ["n"] = "2" }),
            Trial(0, TrialState.Complete, double.PositiveInfinity, new Dictionary<string, (double, Distribution)> { ["x"] = (0.25, x) }),
            Trial(2, TrialState.Fail, null, NoParams, failReason: "diverged", retried: true),
            Trial(3, TrialState.Waiting, null, NoParams),
        };
        using var json = JsonDocument.Parse(StudyJson.Write(study, trials));
        var root = json.RootElement;
        Assert.Equal(["study", "direction", "bestValue", "bestTrial", "bestParams", "counts", "trials"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("maximize", root.GetProperty("direction").GetString());
        Assert.Equal("Infinity", root.GetProperty("bestValue").GetString());
        Assert.Equal(0, root.GetProperty("bestTrial").GetInt32());
        Assert.Equal(0.25, root.GetProperty("bestParams").GetProperty("x").GetDouble());
        Assert.Equal("{\"running\":0,\"complete\":2,\"pruned\":0,\"fail\":1,\"waiting\":1}", root.GetProperty("counts").GetRawText().Replace(" ", "", StringComparison.Ordinal).ReplaceLineEndings(""));
        var all = root.GetProperty("trials");
        Assert.Equal([0, 1, 2, 3], all.EnumerateArray().Select(t => t.GetProperty("number").GetInt32()));
        var full = all[1];
        Assert.Equal(["number", "state", "value", "params", "intermediateValues", "userAttributes", "start", "complete", "durationSeconds"],
            full.EnumerateObject().Select(p => p.Name));
        Assert.Equal("COMPLETE", full.GetProperty("state").GetString());
        Assert.Equal(0.75, full.GetProperty("value").GetDouble());
        Assert.Equal("NaN", full.GetProperty("intermediateValues").GetProperty("0").GetString());
        Assert.Equal(0.5, full.GetProperty("intermediateValues").GetProperty("10").GetDouble());
        Assert.Equal("v1", full.GetProperty("userAttributes").GetProperty("tag").GetString());
        Assert.Equal(2, full.GetProperty("userAttributes").GetProperty("n").GetInt32());
        Assert.Equal("2026-03-01T12:00:00.0000000Z", full.GetProperty("start").GetString());
        Assert.Equal("2026-03-01T12:00:01.2345600Z", full.GetProperty("complete").GetString());
        Assert.Equal(1.235, full.GetProperty("durationSeconds").GetDouble());
        var failed = all[2];
        Assert.Equal(["number", "state", "value", "params", "failReason", "retried"], failed.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("value").ValueKind);
        Assert.Equal("diverged", failed.GetProperty("failReason").GetString());
        Assert.True(failed.GetProperty("retried").GetBoolean());
        Assert.Equal(["number", "state", "value", "params"], all[3].EnumerateObject().Select(p => p.Name));
        Assert.Equal("WAITING", all[3].GetProperty("state").GetString());

        using var none = JsonDocument.Parse(StudyJson.Write(study, [trials[2]]));
        Assert.Equal(JsonValueKind.Null, none.RootElement.GetProperty("bestTrial").ValueKind);
        Assert.Equal(JsonValueKind.Null, none.RootElement.GetProperty("bestParams").ValueKind);
    }
}
