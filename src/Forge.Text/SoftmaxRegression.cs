using Forge.Core;

namespace Forge.Text;

/// <summary>Hyperparameters of <see cref="SoftmaxRegression"/>.</summary>
public sealed record SoftmaxRegressionOptions
{
    /// <summary>Inverse L2 strength, as scikit-learn's C: the objective is C·Σ log-loss + ½‖W‖² (the bias is not penalised).</summary>
    public double C { get; init; } = 1.0;

    /// <summary>Stop when no gradient component of the per-sample objective exceeds this.</summary>
    public double Tolerance { get; init; } = 1e-6;

    /// <summary>L-BFGS iterations at most.</summary>
    public int MaxIterations { get; init; } = 2000;

    /// <summary>Correction pairs L-BFGS keeps.</summary>
    public int History { get; init; } = 10;

    /// <summary>Checks every field and reports every problem at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (!(C > 0) || double.IsInfinity(C)) problems.Add($"C must be a positive number (got {C})");
        if (!(Tolerance > 0)) problems.Add($"tolerance must be positive (got {Tolerance})");
        if (MaxIterations < 1) problems.Add($"max iterations must be at least 1 (got {MaxIterations})");
        if (History < 1) problems.Add($"history must be at least 1 (got {History})");
        if (problems.Count > 0) throw new UsageException("softmax regression: " + string.Join("; ", problems));
    }
}

/// <summary>A fitted multinomial logistic regression: class probabilities softmax(W·x + b).</summary>
public sealed class SoftmaxModel
{
    /// <summary>Wraps weights laid out row-major [classes × features] and one bias per class.</summary>
    public SoftmaxModel(double[] weights, double[] bias, int features)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(bias);
        if (bias.Length < 2 || weights.Length != bias.Length * features)
            throw new ArgumentException($"{weights.Length} weights do not fit {bias.Length} classes × {features} features", nameof(weights));
        Weights = weights;
        Bias = bias;
        Features = features;
    }

    /// <summary>Weights, row-major [classes × features].</summary>
    public double[] Weights { get; }

    /// <summary>One bias per class.</summary>
    public double[] Bias { get; }

    /// <summary>The number of features.</summary>
    public int Features { get; }

    /// <summary>The number of classes.</summary>
    public int Classes => Bias.Length;

    /// <summary>How fitting ended: iterations run, final objective and largest gradient component.</summary>
    public (int Iterations, double Objective, double GradientMax) Fit { get; init; }

    /// <summary>Class probabilities of every row.</summary>
    public float[][] PredictProbabilities(FeatureMatrix x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Columns != Features) throw new ArgumentException($"{x.Columns} features; the model has {Features}", nameof(x));
        var k = Classes;
        var z = new double[x.Rows * k];
        x.Multiply(Weights, k, z);
        var result = new float[x.Rows][];
        var row = new double[k];
        for (var i = 0; i < x.Rows; i++)
        {
            for (var c = 0; c < k; c++) row[c] = z[(i * k) + c] + Bias[c];
            SoftmaxRegression.SoftmaxInPlace(row);
            result[i] = Array.ConvertAll(row, v => (float)v);
        }
        return result;
    }
}

/// <summary>
/// Multinomial logistic regression with L2, fitted to convergence with L-BFGS in plain C#: deterministic (sequential
/// double-precision sums) and scikit-learn's objective (LogisticRegression(multi_class="multinomial", C=C)).
/// </summary>
public static class SoftmaxRegression
{
    /// <summary>Fits weights and biases to rows <paramref name="x"/> with labels <paramref name="y"/> in 0..classes-1.</summary>
    public static SoftmaxModel Fit(FeatureMatrix x, IReadOnlyList<int> y, int classes, SoftmaxRegressionOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        var o = options ?? new SoftmaxRegressionOptions();
        o.Validate();
        if (y.Count != x.Rows) throw new ArgumentException($"{y.Count} labels for {x.Rows} rows", nameof(y));
        if (x.Rows == 0) throw new ArgumentException("no rows to fit", nameof(x));
        for (var i = 0; i < y.Count; i++)
        {
            if ((uint)y[i] >= (uint)classes) throw new ArgumentException($"label {y[i]} at row {i} is outside 0..{classes - 1}", nameof(y));
        }
        var objective = new Objective(x, y, classes, o.C);
        var (theta, iterations, value, gradMax) = Lbfgs(objective, o, cancellationToken);
        var d = x.Columns;
        return new SoftmaxModel(theta[..(classes * d)], theta[(classes * d)..], d) { Fit = (iterations, value, gradMax) };
    }

    /// <summary>
    /// The per-sample objective f = (1/n)·Σ log-loss + ‖W‖²/(2·C·n), i.e. scikit-learn's divided by C·n, and its gradient
    /// with respect to θ = [W row-major, b].
    /// </summary>
    internal sealed class Objective(FeatureMatrix x, IReadOnlyList<int> y, int classes, double c)
    {
        private readonly double[] _z = new double[x.Rows * classes];

        public int Size => (classes * x.Columns) + classes;

        public double Evaluate(double[] theta, double[] gradient)
        {
            var n = x.Rows;
            var d = x.Columns;
            var k = classes;
            x.Multiply(theta, k, _z);
            double loss = 0;
            Array.Clear(gradient);
            var gb = gradient.AsSpan(k * d, k);
            var row = new double[k];
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < k; j++) row[j] = _z[(i * k) + j] + theta[(k * d) + j];
                var max = row.Max();
                double sum = 0;
                for (var j = 0; j < k; j++) sum += Math.Exp(row[j] - max);
                var logSum = max + Math.Log(sum);
                loss += logSum - row[y[i]];
                for (var j = 0; j < k; j++)
                {
                    // The residual p - onehot(y), scaled by 1/n, is both the bias gradient and the weights' row factor.
                    var r = (Math.Exp(row[j] - logSum) - (j == y[i] ? 1 : 0)) / n;
                    _z[(i * k) + j] = r;
                    gb[j] += r;
                }
            }
            x.MultiplyTransposedAdd(_z, k, gradient);
            double penalty = 0;
            var scale = 1.0 / (c * n);
            for (var j = 0; j < k * d; j++)
            {
                penalty += theta[j] * theta[j];
                gradient[j] += theta[j] * scale;
            }
            return (loss / n) + (0.5 * scale * penalty);
        }
    }

    private static (double[] Theta, int Iterations, double Value, double GradientMax) Lbfgs(Objective objective, SoftmaxRegressionOptions o, CancellationToken ct)
    {
        var size = objective.Size;
        var x = new double[size];
        var g = new double[size];
        var f = objective.Evaluate(x, g);
        var m = o.History;
        var s = new List<double[]>();
        var yv = new List<double[]>();
        var rho = new List<double>();
        var direction = new double[size];
        var xNew = new double[size];
        var gNew = new double[size];
        var alpha = new double[m];
        var iteration = 0;
        var stalls = 0;
        while (iteration < o.MaxIterations && MaxAbs(g) > o.Tolerance)
        {
            ct.ThrowIfCancellationRequested();
            iteration++;
            // Two-loop recursion: direction = -H·g with H the L-BFGS inverse-Hessian estimate.
            for (var i = 0; i < size; i++) direction[i] = -g[i];
            for (var h = s.Count - 1; h >= 0; h--)
            {
                alpha[h] = rho[h] * Dot(s[h], direction);
                Axpy(-alpha[h], yv[h], direction);
            }
            if (s.Count > 0)
            {
                var last = s.Count - 1;
                var gamma = Dot(s[last], yv[last]) / Dot(yv[last], yv[last]);
                for (var i = 0; i < size; i++) direction[i] *= gamma;
            }
            for (var h = 0; h < s.Count; h++)
            {
                var beta = rho[h] * Dot(yv[h], direction);
                Axpy(alpha[h] - beta, s[h], direction);
            }
            var slope = Dot(g, direction);
            if (slope >= 0)
            {
                // Not a descent direction (round-off in the estimate): forget it and go down the gradient.
                s.Clear();
                yv.Clear();
                rho.Clear();
                for (var i = 0; i < size; i++) direction[i] = -g[i];
                slope = Dot(g, direction);
            }
            var step = s.Count == 0 ? Math.Min(1.0, 1.0 / Math.Sqrt(Dot(g, g))) : 1.0;
            double fNew = 0;
            var accepted = false;
            for (var tries = 0; tries < 60; tries++)
            {
                for (var i = 0; i < size; i++) xNew[i] = x[i] + (step * direction[i]);
                fNew = objective.Evaluate(xNew, gNew);
                if (fNew <= f + (1e-4 * step * slope)) { accepted = true; break; }
                step *= 0.5;
            }
            if (!accepted) break;
            var sk = new double[size];
            var yk = new double[size];
            for (var i = 0; i < size; i++)
            {
                sk[i] = xNew[i] - x[i];
                yk[i] = gNew[i] - g[i];
            }
            var sy = Dot(sk, yk);
            if (sy > 1e-12 * Math.Sqrt(Dot(sk, sk) * Dot(yk, yk)))
            {
                if (s.Count == m)
                {
                    s.RemoveAt(0);
                    yv.RemoveAt(0);
                    rho.RemoveAt(0);
                }
                s.Add(sk);
                yv.Add(yk);
                rho.Add(1.0 / sy);
            }
            // Progress too small to measure, several times running, means round-off has taken over.
            stalls = f - fNew <= 1e-15 * Math.Max(1, Math.Abs(f)) ? stalls + 1 : 0;
            (x, xNew) = (xNew, x);
            (g, gNew) = (gNew, g);
            f = fNew;
            if (stalls >= 5) break;
        }
        return (x, iteration, f, MaxAbs(g));
    }

    internal static void SoftmaxInPlace(double[] row)
    {
        var max = row.Max();
        double sum = 0;
        for (var j = 0; j < row.Length; j++)
        {
            row[j] = Math.Exp(row[j] - max);
            sum += row[j];
        }
        for (var j = 0; j < row.Length; j++) row[j] /= sum;
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static void Axpy(double a, double[] x, double[] y)
    {
        for (var i = 0; i < x.Length; i++) y[i] += a * x[i];
    }

    private static double MaxAbs(double[] v)
    {
        double max = 0;
        foreach (var e in v) max = Math.Max(max, Math.Abs(e));
        return max;
    }
}
