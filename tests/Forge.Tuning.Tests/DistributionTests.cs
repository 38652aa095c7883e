using Forge.Core;

namespace Forge.Tuning.Tests;

/// <summary>Distributions: validation, grids, conversions, JSON and search-space files; the stored scalar values.</summary>
public sealed class DistributionTests
{
    [Fact]
    public void Float_validation_reports_every_problem_at_once()
    {
        var error = Assert.Throws<UsageException>(() => new FloatDistribution(-1, -2, log: true, step: 0));
        Assert.Equal("float distribution: low (-1) is above high (-2); a log scale needs low > 0 (got -1); log and step cannot be combined; step must be positive (got 0)", error.Message);
        Assert.Contains("must be finite", Assert.Throws<UsageException>(() => new FloatDistribution(0, double.PositiveInfinity)).Message, StringComparison.Ordinal);
        Assert.Contains("must be finite", Assert.Throws<UsageException>(() => new FloatDistribution(double.NaN, 1)).Message, StringComparison.Ordinal);
        Assert.Contains("step must be positive", Assert.Throws<UsageException>(() => new FloatDistribution(0, 1, step: double.NaN)).Message, StringComparison.Ordinal);
        Assert.Contains("log scale needs low > 0 (got 0)", Assert.Throws<UsageException>(() => new FloatDistribution(0, 1, log: true)).Message, StringComparison.Ordinal);
        Assert.True(new FloatDistribution(2, 2).IsSingle);
        Assert.False(new FloatDistribution(1, 2).IsSingle);
    }

    [Fact]
    public void Int_validation_reports_every_problem_at_once()
    {
        var error = Assert.Throws<UsageException>(() => new IntDistribution(0, -1, log: true, step: 0));
        Assert.Equal("int distribution: low (0) is above high (-1); a log scale needs low ≥ 1 (got 0); a log scale needs step 1 (got 0); step must be at least 1 (got 0)", error.Message);
        Assert.Contains("needs step 1 (got 2)", Assert.Throws<UsageException>(() => new IntDistribution(1, 9, log: true, step: 2)).Message, StringComparison.Ordinal);
        Assert.True(new IntDistribution(1, 9, log: true).Log);
        Assert.True(new IntDistribution(4, 4).IsSingle);
    }

    [Fact]
    public void A_step_lowers_high_onto_the_grid_and_values_snap_to_it()
    {
        var f = new FloatDistribution(0, 1, step: 0.3);
        Assert.Equal(0.9, f.High, 12);
        Assert.Equal(1.0, new FloatDistribution(0, 1, step: 0.1).High, 12);
        Assert.Equal(0.6, f.Snap(0.7), 12);
        Assert.Equal(0.9, f.Snap(5), 12);
        Assert.Equal(0.0, f.Snap(-5), 12);
        Assert.True(f.Contains(0.3));
        Assert.True(f.Contains(0.6000000000001));
        Assert.False(f.Contains(0.45));
        Assert.False(f.Contains(1.2));
        Assert.False(f.Contains(double.NaN));
        var i = new IntDistribution(1, 10, step: 3);
        Assert.Equal(10, i.High);
        Assert.Equal(7, new IntDistribution(1, 9, step: 3).High);
        Assert.Equal(4, i.Snap(5.4));
        Assert.Equal(7, i.Snap(5.5));
        Assert.Equal(10, i.Snap(99));
        Assert.True(i.Contains(7));
        Assert.False(i.Contains(6));
        Assert.False(i.Contains(7.5));
        Assert.False(i.Contains(13));
        Assert.Equal(3, new IntDistribution(0, 5).Snap(2.5));
        var continuous = new FloatDistribution(-1, 1);
        Assert.Equal(0.3, continuous.Snap(0.3));
        Assert.Equal(1.0, continuous.Snap(3));
    }

    [Fact]
    public void Internal_and_external_values_convert_both_ways()
    {
        var f = new FloatDistribution(0, 10);
        Assert.Equal(3.0, f.ToInternal(3));
        Assert.Equal(2.5, f.ToInternal(2.5f));
        Assert.Equal(2.5, f.ToExternal(2.5));
        Assert.Throws<UsageException>(() => f.ToInternal("3"));
        Assert.Throws<UsageException>(() => f.ToInternal(null));
        var i = new IntDistribution(0, 10);
        Assert.Equal(4.0, i.ToInternal(4L));
        Assert.Equal(4.0, i.ToInternal(4.0));
        Assert.Equal(4, i.ToExternal(4.0));
        Assert.Throws<UsageException>(() => i.ToInternal(4.5));
        Assert.Throws<UsageException>(() => i.ToInternal(true));
        var c = new CategoricalDistribution(["a", 2, 2.5, true, null]);
        Assert.Equal(["a", 2L, 2.5, true, null], c.Choices);
        Assert.Equal(1.0, c.ToInternal(2));
        Assert.Equal(1.0, c.ToInternal(2.0));
        Assert.Equal(4.0, c.ToInternal(null));
        Assert.Equal(true, c.ToExternal(3));
        Assert.Equal(-1, c.IndexOf("b"));
        Assert.Contains("is not one of the choices (a, 2, 2.5, true, null)", Assert.Throws<UsageException>(() => c.ToInternal("b")).Message, StringComparison.Ordinal);
        Assert.True(c.Contains(4));
        Assert.False(c.Contains(5));
        Assert.False(c.Contains(1.5));
        Assert.False(c.Contains(-1));
    }

    [Fact]
    public void Categorical_refuses_no_choices_and_duplicates_once_stored()
    {
        Assert.Contains("at least one choice", Assert.Throws<UsageException>(() => new CategoricalDistribution([])).Message, StringComparison.Ordinal);
        Assert.Contains("choice '1' is listed twice", Assert.Throws<UsageException>(() => new CategoricalDistribution([1, 1.0])).Message, StringComparison.Ordinal);
        Assert.Equal(new CategoricalDistribution(["a", "b"]), new CategoricalDistribution(["a", "b"]));
        Assert.Equal(new CategoricalDistribution(["a", "b"]).GetHashCode(), new CategoricalDistribution(["a", "b"]).GetHashCode());
        Assert.NotEqual(new CategoricalDistribution(["a", "b"]), new CategoricalDistribution(["b", "a"]));
        Assert.NotEqual(new CategoricalDistribution([1]), new CategoricalDistribution([1.0]));
        Assert.NotEqual(new CategoricalDistribution(["a"]), new CategoricalDistribution(["a", "b"]));
        Assert.False(new CategoricalDistribution(["a"]).Equals(null));
        Assert.True(new CategoricalDistribution(["a"]).IsSingle);
    }

    [Fact]
    public void Distributions_round_trip_through_json()
    {
        Distribution[] all =
        [
            new FloatDistribution(1e-5, 0.1, log: true),
            new FloatDistribution(0, 1, step: 0.25),
            new FloatDistribution(-3.5, 2),
            new IntDistribution(2, 10, step: 2),
            new IntDistribution(1, 1024, log: true),
            new CategoricalDistribution(["relu", 3, 0.5, false, null]),
        ];
        foreach (var d in all) Assert.Equal(d, Distribution.FromJson(d.ToJson()));
        Assert.Equal("{\"type\":\"float\",\"low\":1E-05,\"high\":0.1,\"log\":true}", all[0].ToJson());
        Assert.Equal("{\"type\":\"int\",\"low\":2,\"high\":10,\"step\":2}", all[3].ToJson());
        Assert.Equal("{\"type\":\"categorical\",\"choices\":[\"relu\",3,0.5,false,null]}", all[5].ToJson());
        Assert.Equal(["float", "float", "float", "int", "int", "categorical"], all.Select(d => d.Kind));
    }

    [Fact]
    public void A_search_space_file_is_read_with_every_problem_named_by_parameter()
    {
        var space = Distribution.ParseSearchSpace("""
            {"lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": true},
             "depth": {"type": "int", "low": 2, "high": 10},
             "act": {"type": "categorical", "choices": ["relu", "gelu"]},
             "drop": {"type": "float", "low": 0, "high": 0.5, "step": 0.1, "log": false}, // comments are fine
            }
            """);
        Assert.Equal(new FloatDistribution(1e-5, 0.1, log: true), space["lr"]);
        Assert.Equal(new IntDistribution(2, 10), space["depth"]);
        Assert.Equal(new CategoricalDistribution(["relu", "gelu"]), space["act"]);
        Assert.Equal(new FloatDistribution(0, 0.5, step: 0.1), space["drop"]);

        var error = Assert.Throws<UsageException>(() => Distribution.ParseSearchSpace("""
            {"a": {"type": "flaot", "low": 0, "high": 1},
             "b": {"type": "int", "low": 0.5, "high": 3},
             "c": {"type": "float", "lwo": 0, "high": 1},
             "d": {"type": "categorical"},
             "e": {"type": "float", "low": 2, "high": 1},
             "f": [1, 2],
             "g": {"low": 0, "high": 1},
             "h": {"type": "float", "high": 1},
             "i": {"type": 3, "low": "x", "log": "yes", "choices": 4}}
            """));
        var m = error.Message;
        Assert.Contains("parameter 'a': unknown type \"flaot\" (did you mean \"float\"?)", m, StringComparison.Ordinal);
        Assert.Contains("parameter 'b': an int's \"low\", \"high\" and \"step\" must be whole numbers", m, StringComparison.Ordinal);
        Assert.Contains("parameter 'c': unknown key \"lwo\" (did you mean \"low\"?)", m, StringComparison.Ordinal);
        Assert.Contains("parameter 'd': a categorical needs \"choices\"", m, StringComparison.Ordinal);
        Assert.Contains("parameter 'e': float distribution: low (2) is above high (1)", m, StringComparison.Ordinal);
        Assert.Contains("parameter 'f': a distribution is a JSON object", m, StringComparison.Ordinal);
        Assert.Contains("parameter 'g': \"type\" is missing", m, StringComparison.Ordinal);
        Assert.Contains("parameter 'h': a float needs \"low\" and \"high\"", m, StringComparison.Ordinal);
        Assert.Contains("\"type\" must be a string", m, StringComparison.Ordinal);
        Assert.Contains("\"low\" must be a number", m, StringComparison.Ordinal);
        Assert.Contains("\"log\" must be true or false", m, StringComparison.Ordinal);
        Assert.Contains("\"choices\" must be an array", m, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", Assert.Throws<UsageException>(() => Distribution.ParseSearchSpace("{")).Message, StringComparison.Ordinal);
        Assert.Contains("must be a JSON object", Assert.Throws<UsageException>(() => Distribution.ParseSearchSpace("[]")).Message, StringComparison.Ordinal);
        Assert.Contains("declares no parameter", Assert.Throws<UsageException>(() => Distribution.ParseSearchSpace("{}")).Message, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", Assert.Throws<UsageException>(() => Distribution.FromJson("nope")).Message, StringComparison.Ordinal);
        Assert.Contains("(known: type, low, high, step, log, choices)", Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"float\", \"low\": 0, \"high\": 1, \"zzzzzzz\": 1}")).Message, StringComparison.Ordinal);
        Assert.Contains("(known: float, int, categorical)", Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"zzzzzzz\"}")).Message, StringComparison.Ordinal);
        Assert.Equal(new IntDistribution(0, 9, step: 3), Distribution.FromJson("{\"type\": \"int\", \"low\": 0, \"high\": 9, \"step\": 3}"));
        Assert.Equal(new FloatDistribution(0, 9), Distribution.FromJson("{\"type\": \"float\", \"low\": 0, \"high\": 9, \"step\": null}"));
    }

    [Fact]
    public void Bound_and_step_problems_are_named_with_their_values()
    {
        Assert.Equal("float distribution: low (0) and high (Infinity) must be finite",
            Assert.Throws<UsageException>(() => new FloatDistribution(0, double.PositiveInfinity)).Message);
        Assert.Equal("float distribution: low (NaN) and high (1) must be finite",
            Assert.Throws<UsageException>(() => new FloatDistribution(double.NaN, 1)).Message);
        Assert.Equal("float distribution: step must be positive (got Infinity)",
            Assert.Throws<UsageException>(() => new FloatDistribution(0, 1, step: double.PositiveInfinity)).Message);
        Assert.Equal("float distribution: step must be positive (got -0.5)",
            Assert.Throws<UsageException>(() => new FloatDistribution(0, 1, step: -0.5)).Message);
        Assert.Equal("int distribution: step must be at least 1 (got -2)",
            Assert.Throws<UsageException>(() => new IntDistribution(0, 1, step: -2)).Message);
        Assert.Equal("int distribution: a log scale needs low ≥ 1 (got 0)",
            Assert.Throws<UsageException>(() => new IntDistribution(0, 8, log: true)).Message);
        // The boundaries themselves are allowed: a tiny positive low on a log scale, a single point, low 1 for an int log scale.
        Assert.Equal(1e-300, new FloatDistribution(1e-300, 1, log: true).Low);
        Assert.True(new FloatDistribution(-2, -2, step: 0.5).IsSingle);
        Assert.Equal(1, new IntDistribution(1, 1, log: true).High);
        Assert.Equal(1, new IntDistribution(1, 5, log: true, step: 1).Step);
        Assert.Equal(["float", "int", "categorical"], new Distribution[] { new FloatDistribution(0, 1), new IntDistribution(0, 1), new CategoricalDistribution(["a"]) }.Select(d => d.Kind));
        Assert.False(new IntDistribution(0, 1).IsSingle);
        Assert.False(new CategoricalDistribution(["a", "b"]).IsSingle);
    }

    [Fact]
    public void Grids_keep_their_ends_and_tolerate_rounding_but_not_more()
    {
        // Just below a grid point, high stays where it was given rather than rising above it.
        var belowPoint = 0.3 - 1e-12;
        Assert.Equal(belowPoint, new FloatDistribution(0, belowPoint, step: 0.1).High);
        Assert.Equal(0.2, new FloatDistribution(0, 0.29, step: 0.1).High, 12);
        // The grid test is relative for large multiples of the step.
        var wide = new FloatDistribution(0, 1e6, step: 1);
        Assert.True(wide.Contains(999_999.99999));
        Assert.False(wide.Contains(999_999.5));
        Assert.True(wide.Contains(0));
        Assert.True(wide.Contains(1e6));
        Assert.False(new FloatDistribution(0, 1, step: 0.5).Contains(0.5 + 1e-7));
        Assert.Equal(0.5, new FloatDistribution(0, 1, step: 0.5).Snap(0.74), 12);
        Assert.Equal(1.0, new FloatDistribution(0, 1, step: 0.5).Snap(0.75), 12);
        Assert.Equal(0.0, new FloatDistribution(-1, 1).Snap(0));
        Assert.Equal(-1.0, new FloatDistribution(-1, 1).Snap(-7));

        // The grid starts at low, not at zero.
        var offset = new FloatDistribution(0.3, 2.3, step: 0.5);
        Assert.Equal(0.8, offset.Snap(0.9), 12);
        Assert.True(offset.Contains(1.3));
        Assert.False(offset.Contains(1.0));
        Assert.Equal("distribution: unknown type \"categorcal\" (did you mean \"categorical\"?)",
            Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"categorcal\"}")).Message);
        // The int grid spans the whole int range without overflowing.
        var all = new IntDistribution(int.MinValue, int.MaxValue, step: 2);
        Assert.Equal(int.MaxValue - 1, all.High);
        Assert.Equal(int.MaxValue, new IntDistribution(int.MinValue, int.MaxValue).High);
        var ints = new IntDistribution(-5, 5);
        Assert.Equal(0, ints.Snap(-0.5));
        Assert.Equal(-1, ints.Snap(-0.51));
        Assert.Equal(-5, ints.Snap(-99));
        Assert.Equal(5, ints.Snap(5.4));
        var stepped = new IntDistribution(1, 10, step: 3);
        Assert.True(stepped.Contains(1));
        Assert.True(stepped.Contains(10));
        Assert.False(stepped.Contains(0));
        Assert.False(stepped.Contains(11));
        Assert.False(stepped.Contains(-2));
        Assert.Equal(1, stepped.Snap(2.4));
        Assert.Equal(4, stepped.Snap(2.5));
        Assert.Equal(7, stepped.ToExternal(7.0));
    }

    [Fact]
    public void Conversions_name_the_value_they_refuse()
    {
        Assert.Equal("'3' is not a number", Assert.Throws<UsageException>(() => new FloatDistribution(0, 9).ToInternal("3")).Message);
        Assert.Equal("'null' is not a number", Assert.Throws<UsageException>(() => new FloatDistribution(0, 9).ToInternal(null)).Message);
        Assert.Equal(7.0, new FloatDistribution(0, 9).ToInternal(7L));
        Assert.Equal(0.25, new FloatDistribution(0, 1, step: 0.25).ToExternal(0.3));
        Assert.Equal("'4.5' is not a whole number", Assert.Throws<UsageException>(() => new IntDistribution(0, 9).ToInternal(4.5)).Message);
        Assert.Equal("'true' is not a whole number", Assert.Throws<UsageException>(() => new IntDistribution(0, 9).ToInternal(true)).Message);
        Assert.Equal(-3.0, new IntDistribution(-9, 9).ToInternal(-3));
        var c = new CategoricalDistribution(["x", "y"]);
        Assert.Equal("'z' is not one of the choices (x, y)", Assert.Throws<UsageException>(() => c.ToInternal("z")).Message);
        Assert.Equal(0.0, c.ToInternal("x"));
        Assert.Equal(0, c.IndexOf("x"));
        Assert.Equal("y", c.ToExternal(1));
        Assert.True(c.Contains(0));
        Assert.True(c.Contains(1));
        Assert.False(c.Contains(2));
        Assert.False(c.Contains(-0.5));
        Assert.Equal("categorical distribution: choice 'a' is listed twice",
            Assert.Throws<UsageException>(() => new CategoricalDistribution(["a", "b", "a"])).Message);
        Assert.Equal("categorical distribution: needs at least one choice", Assert.Throws<UsageException>(() => new CategoricalDistribution([])).Message);
        Assert.NotEqual(new CategoricalDistribution(["a", "b"]), new CategoricalDistribution(["a", "c"]));
        Assert.Equal(new CategoricalDistribution([1, "a"]), new CategoricalDistribution([1L, "a"]));
    }

    [Fact]
    public void Json_writes_only_the_keys_that_differ_from_the_defaults()
    {
        Assert.Equal("{\"type\":\"float\",\"low\":0,\"high\":1,\"step\":0.25}", new FloatDistribution(0, 1, step: 0.25).ToJson());
        Assert.Equal("{\"type\":\"float\",\"low\":-3.5,\"high\":2}", new FloatDistribution(-3.5, 2).ToJson());
        Assert.Equal("{\"type\":\"int\",\"low\":1,\"high\":1024,\"log\":true}", new IntDistribution(1, 1024, log: true).ToJson());
        Assert.Equal("{\"type\":\"int\",\"low\":0,\"high\":5}", new IntDistribution(0, 5).ToJson());
        Assert.Equal(new IntDistribution(1, 64, log: true), Distribution.FromJson("{\"type\": \"int\", \"low\": 1, \"high\": 64, \"log\": true}"));
        Assert.Equal(new FloatDistribution(0.5, 4), Distribution.FromJson("{\"type\": \"float\", \"low\": 0.5, \"high\": 4, \"log\": false}"));
    }

    [Fact]
    public void Distribution_json_errors_are_exact()
    {
        Assert.StartsWith("distribution 'nope' is not valid JSON: ", Assert.Throws<UsageException>(() => Distribution.FromJson("nope")).Message, StringComparison.Ordinal);
        Assert.Equal("distribution: a distribution is a JSON object with a \"type\"", Assert.Throws<UsageException>(() => Distribution.FromJson("[1]")).Message);
        Assert.Equal("distribution: \"step\" must be a number; \"high\" must be a number",
            Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"int\", \"low\": 0, \"step\": \"2\", \"high\": true}")).Message);
        Assert.Equal("distribution: an int's \"low\", \"high\" and \"step\" must be whole numbers",
            Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"int\", \"low\": 0, \"high\": 9, \"step\": 1.5}")).Message);
        Assert.Equal("distribution: an int's \"low\", \"high\" and \"step\" must be whole numbers",
            Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"int\", \"low\": 0, \"high\": 3000000000}")).Message);
        Assert.Equal("distribution: an int's \"low\", \"high\" and \"step\" must be whole numbers",
            Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"int\", \"low\": -3000000000, \"high\": 0}")).Message);
        Assert.Equal("distribution: an int needs \"low\" and \"high\"", Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"int\", \"low\": 0}")).Message);
        Assert.Equal("distribution: an int needs \"low\" and \"high\"", Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"int\", \"high\": 0}")).Message);
        Assert.Equal("distribution: a float needs \"low\" and \"high\"", Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"float\", \"low\": 0}")).Message);
        Assert.Equal("distribution: categorical distribution: needs at least one choice",
            Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"categorical\", \"choices\": []}")).Message);
        Assert.Equal("distribution: unknown key \"setp\" (did you mean \"step\"?)",
            Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"float\", \"low\": 0, \"high\": 1, \"setp\": 1}")).Message);
        Assert.Equal("distribution: unknown key \"zzzzzzz\" (known: type, low, high, step, log, choices)",
            Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"float\", \"low\": 0, \"high\": 1, \"zzzzzzz\": 1}")).Message);
        Assert.Equal("distribution: unknown type \"zzzzzzz\" (known: float, int, categorical)", Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"zzzzzzz\"}")).Message);
        Assert.Equal("distribution: unknown type \"itn\" (did you mean \"int\"?)", Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": \"itn\"}")).Message);
        Assert.Equal("distribution: \"type\" is missing (float, int or categorical)", Assert.Throws<UsageException>(() => Distribution.FromJson("{\"low\": 1}")).Message);
        Assert.Equal("distribution: \"type\" must be a string", Assert.Throws<UsageException>(() => Distribution.FromJson("{\"type\": null}")).Message);
        // The extremes of the int range are whole numbers.
        Assert.Equal(new IntDistribution(int.MinValue, int.MaxValue), Distribution.FromJson("{\"type\": \"int\", \"low\": -2147483648, \"high\": 2147483647}"));
        Assert.Equal(new CategoricalDistribution(["a", 1L]), Distribution.FromJson("{\"type\": \"categorical\", \"choices\": [\"a\", 1]}"));
    }

    [Fact]
    public void A_search_space_lists_its_problems_in_order_separated_by_semicolons()
    {
        var error = Assert.Throws<UsageException>(() => Distribution.ParseSearchSpace("""
            {"ok": {"type": "int", "low": 0, "high": 3},
             "a": {"type": "float", "low": 2, "high": 1, "log": "no"},
             "b": 3}
            """));
        Assert.Equal("parameter 'a': \"log\" must be true or false; parameter 'b': a distribution is a JSON object with a \"type\"", error.Message);
        Assert.Equal("parameter 'x': float distribution: low (2) is above high (1)",
            Assert.Throws<UsageException>(() => Distribution.ParseSearchSpace("{\"x\": {\"type\": \"float\", \"low\": 2, \"high\": 1}}")).Message);
        Assert.StartsWith("the search space is not valid JSON: ", Assert.Throws<UsageException>(() => Distribution.ParseSearchSpace("{")).Message, StringComparison.Ordinal);
        Assert.Equal("the search space must be a JSON object mapping parameter names to distributions", Assert.Throws<UsageException>(() => Distribution.ParseSearchSpace("[]")).Message);
        Assert.Equal("the search space declares no parameter", Assert.Throws<UsageException>(() => Distribution.ParseSearchSpace("{}")).Message);
        var one = Distribution.ParseSearchSpace("{\"only\": {\"type\": \"categorical\", \"choices\": [true, false]}}");
        Assert.Equal(["only"], one.Keys);
        Assert.Equal(new CategoricalDistribution([true, false]), one["only"]);
    }

    [Fact]
    public void Scalar_values_are_stored_in_one_plain_form()
    {
        Assert.Equal(3L, ScalarValues.Canonical(3));
        Assert.Equal(3L, ScalarValues.Canonical((short)3));
        Assert.Equal(3L, ScalarValues.Canonical((byte)3));
        Assert.Equal(3L, ScalarValues.Canonical((sbyte)3));
        Assert.Equal(3L, ScalarValues.Canonical((ushort)3));
        Assert.Equal(3L, ScalarValues.Canonical(3u));
        Assert.Equal(3L, ScalarValues.Canonical(3ul));
        Assert.Equal((double)ulong.MaxValue, ScalarValues.Canonical(ulong.MaxValue));
        Assert.Equal(0.5, ScalarValues.Canonical(0.5f));
        Assert.Equal(0.25, ScalarValues.Canonical(0.25m));
        Assert.Equal("x", ScalarValues.Canonical('x'));
        Assert.Equal("Friday", ScalarValues.Canonical(DayOfWeek.Friday));
        Assert.Equal("00:00:01", ScalarValues.Canonical(TimeSpan.FromSeconds(1)));
        Assert.Equal(new Uri("http://a/").ToString(), ScalarValues.Canonical(new Uri("http://a/")));
        Assert.Null(ScalarValues.Canonical(null));
        Assert.True(ScalarValues.AreEqual(1, 1.0));
        Assert.True(ScalarValues.AreEqual(1.0, 1L));
        Assert.True(ScalarValues.AreEqual(null, null));
        Assert.True(ScalarValues.AreEqual(true, true));
        Assert.True(ScalarValues.AreEqual(double.NaN, double.NaN));
        Assert.False(ScalarValues.AreEqual("1", 1));
        Assert.False(ScalarValues.AreEqual(null, "null"));
        Assert.False(ScalarValues.AreEqual(true, false));
        Assert.False(ScalarValues.AreEqual(2, 3));
        foreach (var v in new object?[] { "a \"q\"", 7L, 0.1, true, false, null, -2.5e-300 })
            Assert.True(ScalarValues.AreEqual(v, ScalarValues.FromJson(ScalarValues.ToJson(v))), $"{v} round trip");
        Assert.Equal("\"NaN\"", ScalarValues.ToJson(double.NaN));
        Assert.Equal("\"-Infinity\"", ScalarValues.ToJson(double.NegativeInfinity));
        Assert.Equal("\"Infinity\"", ScalarValues.ToJson(double.PositiveInfinity));
        Assert.Equal(double.PositiveInfinity, ScalarValues.ToDouble("Infinity"));
        Assert.Equal(double.NegativeInfinity, ScalarValues.ToDouble("-Infinity"));
        Assert.True(double.IsNaN(ScalarValues.ToDouble("NaN")));
        Assert.Equal(4.0, ScalarValues.ToDouble(4L));
        Assert.Throws<UsageException>(() => ScalarValues.ToDouble("x"));
        Assert.IsType<double>(ScalarValues.FromJson("2.0"));
        Assert.IsType<double>(ScalarValues.FromJson("2e3"));
        Assert.IsType<long>(ScalarValues.FromJson("2"));
        Assert.IsType<double>(ScalarValues.FromJson("99999999999999999999"));
        Assert.Equal("[1,2]", ScalarValues.FromJson("[1,2]"));
        Assert.Throws<ForgeException>(() => ScalarValues.FromJson("{"));
        Assert.Equal("1e-05", ScalarValues.Describe(1e-5).ToLowerInvariant());
        Assert.Equal("null", ScalarValues.Describe(null));
        Assert.Equal("false", ScalarValues.Describe(false));
        Assert.Equal("12", ScalarValues.Describe(12));
    }

    [Fact]
    public void Scalar_values_keep_their_kind_at_the_edges()
    {
        Assert.Equal(long.MaxValue, ScalarValues.Canonical((ulong)long.MaxValue));
        Assert.Equal((double)((ulong)long.MaxValue + 1), ScalarValues.Canonical((ulong)long.MaxValue + 1));
        Assert.Equal(Guid.Empty.ToString(), ScalarValues.Canonical(Guid.Empty));
        Assert.Equal("1.5", ScalarValues.Canonical(new Version(1, 5)));
        using (var document = System.Text.Json.JsonDocument.Parse("{\"n\": 4, \"s\": \"x\", \"f\": 1.5}"))
        {
            Assert.Equal(4L, ScalarValues.Canonical(document.RootElement.GetProperty("n")));
            Assert.Equal("x", ScalarValues.Canonical(document.RootElement.GetProperty("s")));
            Assert.Equal(1.5, ScalarValues.Canonical(document.RootElement.GetProperty("f")));
        }
        Assert.Null(ScalarValues.FromJsonElement(default));
        Assert.False(ScalarValues.AreEqual("a", "A"));
        Assert.False(ScalarValues.AreEqual(1, true));
        Assert.False(ScalarValues.AreEqual(1, 1.5));
        Assert.False(ScalarValues.AreEqual(1.5, 1));
        Assert.False(ScalarValues.AreEqual(0.5, 0.25));
        Assert.False(ScalarValues.AreEqual(1, null));
        Assert.False(ScalarValues.AreEqual(false, "false"));
        Assert.True(ScalarValues.AreEqual('a', "a"));
        Assert.IsType<double>(ScalarValues.FromJson("2E3"));
        Assert.IsType<double>(ScalarValues.FromJson("-1e2"));
        Assert.Equal(-7L, ScalarValues.FromJson("-7"));
        Assert.Equal("{\"a\":1}", ScalarValues.FromJson("{\"a\":1}"));
        var bad = Assert.Throws<ForgeException>(() => ScalarValues.FromJson("{"));
        Assert.StartsWith("'{' is not a stored tuning value: ", bad.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<System.Text.Json.JsonException>(bad.InnerException);
        Assert.Equal("\"x\"", ScalarValues.ToJson('x'));
        Assert.Equal("3", ScalarValues.ToJson(3));
        Assert.Equal("true", ScalarValues.ToJson(true));
        Assert.Equal("null", ScalarValues.ToJson(null));
        Assert.Equal("0.1", ScalarValues.ToJson(0.1));
        Assert.Equal("true", ScalarValues.Describe(true));
        Assert.Equal("0.1", ScalarValues.Describe(0.1));
        Assert.Equal("-3", ScalarValues.Describe(-3L));
        Assert.Equal("Monday", ScalarValues.Describe(DayOfWeek.Monday));
        Assert.Equal("'Monday' is not a number", Assert.Throws<UsageException>(() => ScalarValues.ToDouble("Monday")).Message);
        Assert.Equal(2.5, ScalarValues.ToDouble(2.5));
    }

    [Fact]
    public void States_and_directions_have_one_text_form()
    {
        foreach (var state in Enum.GetValues<TrialState>()) Assert.Equal(state, TuningText.ParseState(TuningText.Of(state).ToLowerInvariant()));
        Assert.Equal("COMPLETE", TuningText.Of(TrialState.Complete));
        Assert.Equal("MAXIMIZE", TuningText.Of(StudyDirection.Maximize));
        Assert.Equal(StudyDirection.Maximize, TuningText.ParseDirection("maximise"));
        Assert.Equal(StudyDirection.Maximize, TuningText.ParseDirection("MAX"));
        Assert.Equal(StudyDirection.Minimize, TuningText.ParseDirection("minimize"));
        Assert.Equal(StudyDirection.Minimize, TuningText.ParseDirection("min"));
        Assert.Contains("known: minimize, maximize", Assert.Throws<UsageException>(() => TuningText.ParseDirection("up")).Message, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => TuningText.ParseState("DONE"));
        Assert.Throws<ArgumentOutOfRangeException>(() => TuningText.Of((TrialState)42));
    }

    [Fact]
    public void Frozen_trials_show_their_values_and_refuse_a_value_without_a_distribution()
    {
        var t = new FrozenTrial(1, 4, TrialState.Complete, 0.5, new Dictionary<string, Distribution> { ["x"] = new FloatDistribution(0, 1) },
            new Dictionary<string, double> { ["x"] = 0.25 }, [new(3, 0.7), new(1, 0.9), new(3, 0.1)],
            started: DateTimeOffset.UnixEpoch, completed: DateTimeOffset.UnixEpoch.AddSeconds(2));
        Assert.Equal("trial 4 COMPLETE value=0.5 x=0.25", t.ToString());
        Assert.Equal(TimeSpan.FromSeconds(2), t.Duration);
        Assert.Equal([1L, 3], t.IntermediateValues.Keys);
        Assert.Equal(0.7, t.IntermediateValues[3]);
        Assert.Equal(0.7, t.IntermediateValues.LastValue);
        Assert.Equal(3, t.LastStep);
        Assert.Equal(new KeyValuePair<long, double>(3, 0.7), t.IntermediateValues.FirstAtOrAfter(2));
        Assert.Equal(new KeyValuePair<long, double>(1, 0.9), t.IntermediateValues.FirstAtOrAfter(0));
        Assert.Null(t.IntermediateValues.FirstAtOrAfter(4));
        Assert.Throws<KeyNotFoundException>(() => t.IntermediateValues[2]);
        Assert.False(t.IntermediateValues.TryGetValue(2, out _));
        Assert.Equal([0.9, 0.7], t.IntermediateValues.Values);
        Assert.Null(t.FailReason);
        Assert.Empty(t.FixedParams);
        Assert.Null(Trials.Make(0, TrialState.Running).LastStep);
        Assert.Null(Trials.Make(0, TrialState.Running).Duration);
        Assert.Throws<ForgeException>(() => new FrozenTrial(1, 0, TrialState.Running, null, new Dictionary<string, Distribution>(), new Dictionary<string, double> { ["x"] = 1 }));
    }
}
