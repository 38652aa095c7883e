namespace Forge.Explainability.Numerics;

/// <summary>The small dense linear algebra the local surrogates need: weighted least squares and ridge by Cholesky.</summary>
internal static class LinearAlgebra
{
    /// <summary>
    /// Solves the symmetric positive (semi)definite system A x = b for several right-hand sides in place (A is p x p,
    /// row-major; b is p x r). A singular A (too few samples for the features) gets the smallest ridge that makes it
    /// solvable, so the answer is the minimum-norm-leaning least-squares solution rather than an exception.
    /// </summary>
    internal static double[] SolveSymmetric(double[] a, double[] b, int p, int r)
    {
        var trace = 0.0;
        for (var i = 0; i < p; i++) trace += a[i * p + i];
        var jitter = 0.0;
        for (var attempt = 0; attempt < 12; attempt++)
        {
            var l = Cholesky(a, p, jitter);
            if (l is not null) return Substitute(l, b, p, r);
            jitter = jitter == 0 ? Math.Max(trace / Math.Max(p, 1), 1e-300) * 1e-12 : jitter * 100;
        }
        throw new InvalidOperationException("the normal equations could not be solved (the system is not positive semidefinite)");
    }

    private static double[]? Cholesky(double[] a, int p, double jitter)
    {
        var l = new double[p * p];
        for (var i = 0; i < p; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = a[i * p + j] + (i == j ? jitter : 0);
                for (var k = 0; k < j; k++) sum -= l[i * p + k] * l[j * p + k];
                if (i == j)
                {
                    // Relative pivot test: a pivot lost to rounding means the matrix is singular for our purposes.
                    if (!(sum > 1e-13 * Math.Max(1, Math.Abs(a[i * p + i])))) return null;
                    l[i * p + i] = Math.Sqrt(sum);
                }
                else
                {
                    l[i * p + j] = sum / l[j * p + j];
                }
            }
        }
        return l;
    }

    private static double[] Substitute(double[] l, double[] b, int p, int r)
    {
        var x = (double[])b.Clone();
        for (var c = 0; c < r; c++)
        {
            for (var i = 0; i < p; i++)
            {
                var sum = x[i * r + c];
                for (var k = 0; k < i; k++) sum -= l[i * p + k] * x[k * r + c];
                x[i * r + c] = sum / l[i * p + i];
            }
            for (var i = p - 1; i >= 0; i--)
            {
                var sum = x[i * r + c];
                for (var k = i + 1; k < p; k++) sum -= l[k * p + i] * x[k * r + c];
                x[i * r + c] = sum / l[i * p + i];
            }
        }
        return x;
    }

    /// <summary>
    /// Weighted ridge regression with an unpenalised intercept: minimises Σ w_s (y_s − c − x_s·β)² + α|β|².
    /// X is n x p row-major; returns (β, c, weighted R²).
    /// </summary>
    internal static (double[] Coefficients, double Intercept, double RSquared) WeightedRidge(double[] x, double[] y, double[] w, int n, int p, double alpha)
    {
        double sw = 0, ym = 0;
        var xm = new double[p];
        for (var s = 0; s < n; s++)
        {
            sw += w[s];
            ym += w[s] * y[s];
            for (var j = 0; j < p; j++) xm[j] += w[s] * x[s * p + j];
        }
        if (!(sw > 0)) throw new InvalidOperationException("all sample weights are zero");
        ym /= sw;
        for (var j = 0; j < p; j++) xm[j] /= sw;
        var a = new double[p * p];
        var b = new double[p];
        for (var s = 0; s < n; s++)
        {
            var ws = w[s];
            if (ws == 0) continue;
            var yc = y[s] - ym;
            for (var i = 0; i < p; i++)
            {
                var xi = x[s * p + i] - xm[i];
                b[i] += ws * xi * yc;
                for (var j = 0; j <= i; j++) a[i * p + j] += ws * xi * (x[s * p + j] - xm[j]);
            }
        }
        for (var i = 0; i < p; i++)
        {
            a[i * p + i] += alpha;
            for (var j = 0; j < i; j++) a[j * p + i] = a[i * p + j];
        }
        var beta = p == 0 ? [] : SolveSymmetric(a, b, p, 1);
        var intercept = ym;
        for (var j = 0; j < p; j++) intercept -= beta[j] * xm[j];
        double ssr = 0, sst = 0;
        for (var s = 0; s < n; s++)
        {
            var fit = intercept;
            for (var j = 0; j < p; j++) fit += beta[j] * x[s * p + j];
            ssr += w[s] * (y[s] - fit) * (y[s] - fit);
            sst += w[s] * (y[s] - ym) * (y[s] - ym);
        }
        return (beta, intercept, sst > 0 ? 1 - ssr / sst : 1);
    }
}
