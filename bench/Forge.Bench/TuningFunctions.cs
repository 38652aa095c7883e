using Forge.Tuning;

namespace Forge.Bench;

/// <summary>
/// The tuning benchmark's test functions, defined exactly as in bench/reference/optuna_functions.py: each suggests its
/// parameters through the trial (so Forge and Optuna see the same search space) and returns the value to minimise.
/// </summary>
internal static class TuningFunctions
{
    public static readonly string[] Names = ["branin", "hartmann6", "rosenbrock4", "ackley5", "mixed"];

    /// <summary>The known global minimum of each function (for the regret column).</summary>
    public static double Optimum(string name) => name switch
    {
        "branin" => 0.397887,
        "hartmann6" => -3.32237,
        "rosenbrock4" => 0,
        "ackley5" => 0,
        "mixed" => 0,
        _ => throw new ArgumentException($"unknown function {name}"),
    };

    public static Func<Trial, double> Get(string name) => name switch
    {
        "branin" => Branin,
        "hartmann6" => Hartmann6,
        "rosenbrock4" => t => Rosenbrock(t, 4),
        "ackley5" => t => Ackley(t, 5),
        "mixed" => Mixed,
        _ => throw new ArgumentException($"unknown function {name}"),
    };

    public static double Branin(Trial t)
    {
        var x1 = t.SuggestFloat("x1", -5, 10);
        var x2 = t.SuggestFloat("x2", 0, 15);
        const double A = 1, C = 5 / Math.PI, R = 6, S = 10;
        var b = 5.1 / (4 * Math.PI * Math.PI);
        var tt = 1 / (8 * Math.PI);
        return (A * Math.Pow(x2 - (b * x1 * x1) + (C * x1) - R, 2)) + (S * (1 - tt) * Math.Cos(x1)) + S;
    }

    private static readonly double[] HartmannAlpha = [1.0, 1.2, 3.0, 3.2];

    private static readonly double[,] HartmannA =
    {
        { 10, 3, 17, 3.5, 1.7, 8 },
        { 0.05, 10, 17, 0.1, 8, 14 },
        { 3, 3.5, 1.7, 10, 17, 8 },
        { 17, 8, 0.05, 10, 0.1, 14 },
    };

    private static readonly double[,] HartmannP =
    {
        { 0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886 },
        { 0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991 },
        { 0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650 },
        { 0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381 },
    };

    public static double Hartmann6(Trial t)
    {
        var x = new double[6];
        for (var i = 0; i < 6; i++) x[i] = t.SuggestFloat($"x{i}", 0, 1);
        var sum = 0.0;
        for (var i = 0; i < 4; i++)
        {
            var inner = 0.0;
            for (var j = 0; j < 6; j++) inner += HartmannA[i, j] * Math.Pow(x[j] - HartmannP[i, j], 2);
            sum += HartmannAlpha[i] * Math.Exp(-inner);
        }
        return -sum;
    }

    public static double Rosenbrock(Trial t, int d)
    {
        var x = new double[d];
        for (var i = 0; i < d; i++) x[i] = t.SuggestFloat($"x{i}", -5, 10);
        var sum = 0.0;
        for (var i = 0; i < d - 1; i++) sum += (100 * Math.Pow(x[i + 1] - (x[i] * x[i]), 2)) + Math.Pow(1 - x[i], 2);
        return sum;
    }

    public static double Ackley(Trial t, int d)
    {
        var x = new double[d];
        for (var i = 0; i < d; i++) x[i] = t.SuggestFloat($"x{i}", -32.768, 32.768);
        double s1 = 0, s2 = 0;
        for (var i = 0; i < d; i++)
        {
            s1 += x[i] * x[i];
            s2 += Math.Cos(2 * Math.PI * x[i]);
        }
        return (-20 * Math.Exp(-0.2 * Math.Sqrt(s1 / d))) - Math.Exp(s2 / d) + 20 + Math.E;
    }

    private static readonly string[] Activations = ["relu", "tanh", "sigmoid", "gelu"];

    /// <summary>
    /// A mixed space like a small network's: a float, a log-scaled float, a log-scaled int, an int and a categorical,
    /// with an interaction between the activation and the learning rate. Minimum 0 at x = 1.3, lr = 1e-3 (gelu),
    /// units = 2^4.5 ≈ 22.6 (so ≈ 2.8e-4 at the best integer 23), layers = 3.
    /// </summary>
    public static double Mixed(Trial t)
    {
        var x = t.SuggestFloat("x", -5, 5);
        var lr = t.SuggestFloat("lr", 1e-5, 1, log: true);
        var units = t.SuggestInt("units", 1, 256, log: true);
        var layers = t.SuggestInt("layers", 1, 8);
        var act = t.SuggestCategorical("act", Activations);
        // Each activation prefers its own learning rate; gelu's optimum is the global one.
        var (offset, bestLogLr) = act switch
        {
            "relu" => (0.3, -2.5),
            "tanh" => (0.6, -3.5),
            "sigmoid" => (1.2, -2.0),
            _ => (0.0, -3.0),
        };
        return Math.Pow(x - 1.3, 2) + Math.Pow(Math.Log10(lr) - bestLogLr, 2) + (0.5 * Math.Pow(Math.Log2(units) - 4.5, 2))
            + (0.25 * Math.Pow(layers - 3, 2)) + offset;
    }
}
