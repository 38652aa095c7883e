namespace Forge.Tuning.Numerics;

/// <summary>
/// Limited-memory BFGS for smooth unconstrained minimisation (the GP's negative log posterior over its log
/// hyperparameters): two-loop recursion over the last <c>memory</c> steps and a backtracking Armijo line search.
/// </summary>
internal static class Lbfgs
{
    /// <summary>A function value and its gradient at a point; the gradient is written into the given span.</summary>
    public delegate double Objective(ReadOnlySpan<double> x, Span<double> gradient);

    /// <summary>The result: the best point seen, its value and how many evaluations it took.</summary>
    public readonly record struct Result(double[] X, double Value, int Evaluations);

    public static Result Minimize(Objective f, double[] start, int maxIterations = 100, int memory = 8, double gradientTolerance = 1e-5)
    {
        var n = start.Length;
        var x = (double[])start.Clone();
        var g = new double[n];
        var fx = f(x, g);
        var evaluations = 1;
        if (!double.IsFinite(fx)) return new Result(x, fx, evaluations);
        var s = new List<double[]>(memory);
        var y = new List<double[]>(memory);
        var rho = new List<double>(memory);
        var direction = new double[n];
        var alpha = new double[memory];
        var xNew = new double[n];
        var gNew = new double[n];
        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            if (MaxAbs(g) < gradientTolerance) break;
            // Two-loop recursion: direction = -H·g.
            for (var i = 0; i < n; i++) direction[i] = -g[i];
            for (var k = s.Count - 1; k >= 0; k--)
            {
                alpha[k] = rho[k] * Dot(s[k], direction);
                Axpy(-alpha[k], y[k], direction);
            }
            if (s.Count > 0)
            {
                var last = s.Count - 1;
                var gamma = Dot(s[last], y[last]) / Dot(y[last], y[last]);
                for (var i = 0; i < n; i++) direction[i] *= gamma;
            }
            else
            {
                // First step: a unit-length move, whatever the gradient's scale.
                var norm = Math.Sqrt(Dot(g, g));
                for (var i = 0; i < n; i++) direction[i] /= Math.Max(norm, 1e-12);
            }
            for (var k = 0; k < s.Count; k++)
            {
                var beta = rho[k] * Dot(y[k], direction);
                Axpy(alpha[k] - beta, s[k], direction);
            }
            var slope = Dot(g, direction);
            if (!(slope < 0))
            {
                // Not a descent direction (curvature information went stale): restart from steepest descent.
                s.Clear();
                y.Clear();
                rho.Clear();
                for (var i = 0; i < n; i++) direction[i] = -g[i] / Math.Max(Math.Sqrt(Dot(g, g)), 1e-12);
                slope = Dot(g, direction);
            }
            var step = 1.0;
            double fNew = double.NaN;
            var accepted = false;
            for (var trial = 0; trial < 30; trial++)
            {
                for (var i = 0; i < n; i++) xNew[i] = x[i] + (step * direction[i]);
                fNew = f(xNew, gNew);
                evaluations++;
                if (double.IsFinite(fNew) && fNew <= fx + (1e-4 * step * slope))
                {
                    accepted = true;
                    break;
                }
                step *= 0.5;
            }
            if (!accepted) break;
            var sk = new double[n];
            var yk = new double[n];
            for (var i = 0; i < n; i++)
            {
                sk[i] = xNew[i] - x[i];
                yk[i] = gNew[i] - g[i];
            }
            var sy = Dot(sk, yk);
            var improvement = fx - fNew;
            Array.Copy(xNew, x, n);
            Array.Copy(gNew, g, n);
            fx = fNew;
            if (sy > 1e-12)
            {
                if (s.Count == memory)
                {
                    s.RemoveAt(0);
                    y.RemoveAt(0);
                    rho.RemoveAt(0);
                }
                s.Add(sk);
                y.Add(yk);
                rho.Add(1.0 / sy);
            }
            if (improvement < 1e-10 * Math.Max(1.0, Math.Abs(fx))) break;
        }
        return new Result(x, fx, evaluations);
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static void Axpy(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        for (var i = 0; i < x.Length; i++) y[i] += a * x[i];
    }

    private static double MaxAbs(ReadOnlySpan<double> v)
    {
        var max = 0.0;
        foreach (var e in v) max = Math.Max(max, Math.Abs(e));
        return max;
    }
}
