using Forge.Tuning.Numerics;

namespace Forge.Tuning;

/// <summary>
/// A Gaussian process regressor on the unit cube: zero mean (the targets are standardised), a Matérn-5/2 kernel with
/// one length scale per input (ARD), a signal variance and a noise variance. The hyperparameters are the maximum a
/// posteriori estimate under weak log-normal priors, found by L-BFGS on their logarithms from several starts.
/// </summary>
internal sealed class GaussianProcess
{
    private const double Sqrt5 = 2.2360679774997898;

    /// <summary>The smallest noise variance: keeps the kernel matrix well conditioned for noise-free objectives.</summary>
    internal const double MinNoise = 1e-6;

    // Priors on the log hyperparameters (means, standard deviations): broad, they only keep a fit with few points sane.
    private static readonly double LengthPriorMean = Math.Log(0.5), LengthPriorSd = 1.0;
    private const double SignalPriorMean = 0.0, SignalPriorSd = 1.0;
    private static readonly double NoisePriorMean = Math.Log(1e-3), NoisePriorSd = 2.0;

    private readonly double[][] _x;
    private readonly double[] _y;
    private readonly int _n;
    private readonly int _dims;
    private double[] _alpha = [];
    private Cholesky? _chol;

    private readonly double[] _inverseLengthSq;
    private readonly double _signal;

    // Scratch for one prediction at a time: a process serves one sampling call on one thread.
    private readonly double[] _kx;
    private readonly double[] _r;
    private readonly double[] _v;

    private GaussianProcess(double[][] x, double[] y, double[] theta)
    {
        _x = x;
        _y = y;
        _n = y.Length;
        _dims = x.Length == 0 ? 0 : x[0].Length;
        Theta = theta;
        _inverseLengthSq = new double[_dims];
        for (var d = 0; d < _dims; d++) _inverseLengthSq[d] = Math.Exp(-2 * theta[d]);
        _signal = Math.Exp(theta[_dims]);
        _kx = new double[_n];
        _r = new double[_n];
        _v = new double[_n];
    }

    /// <summary>[log ℓ₁ … log ℓ_D, log σ_f², log σ_n²].</summary>
    public double[] Theta { get; }

    public double SignalVariance => _signal;

    public double NoiseVariance => MinNoise + Math.Exp(Theta[_dims + 1]);

    /// <summary>The default starting hyperparameters for <paramref name="dims"/> inputs.</summary>
    public static double[] DefaultTheta(int dims)
    {
        var theta = new double[dims + 2];
        Array.Fill(theta, LengthPriorMean, 0, dims);
        theta[dims] = 0;
        theta[dims + 1] = Math.Log(1e-2);
        return theta;
    }

    /// <summary>Fits the hyperparameters (from each start, keeping the best posterior) and conditions on the data.</summary>
    public static GaussianProcess Fit(double[][] x, double[] y, IEnumerable<double[]> starts, int maxIterations = 60)
    {
        var dims = x[0].Length;
        var squared = SquaredDifferences(x, dims);
        double[]? bestTheta = null;
        var bestValue = double.PositiveInfinity;
        foreach (var start in starts)
        {
            if (start.Length != dims + 2) continue;
            var result = Lbfgs.Minimize((theta, gradient) => NegativeLogPosterior(theta, gradient, squared, y, dims), start, maxIterations);
            if (double.IsFinite(result.Value) && result.Value < bestValue)
            {
                bestValue = result.Value;
                bestTheta = result.X;
            }
        }
        bestTheta ??= DefaultTheta(dims);
        for (var d = 0; d < dims; d++) bestTheta[d] = Math.Clamp(bestTheta[d], Math.Log(1e-3), Math.Log(1e3));
        bestTheta[dims] = Math.Clamp(bestTheta[dims], -10, 10);
        bestTheta[dims + 1] = Math.Clamp(bestTheta[dims + 1], -25, 2);
        var gp = new GaussianProcess(x, y, bestTheta);
        gp.Condition();
        return gp;
    }

    /// <summary>A process with the given hyperparameters, conditioned on the data (no fitting).</summary>
    internal static GaussianProcess Create(double[][] x, double[] y, double[] theta)
    {
        var gp = new GaussianProcess(x, y, theta);
        gp.Condition();
        return gp;
    }

    /// <summary>
    /// (xᵢ_d - xⱼ_d)² for every pair i &gt; j and input d, pair-major (pair p = i(i-1)/2 + j, then d), computed once per
    /// fit: the data do not move while θ does, and one pass over the pairs then serves every input.
    /// </summary>
    internal static double[] SquaredDifferences(double[][] x, int dims)
    {
        var n = x.Length;
        var result = new double[n * (n - 1) / 2 * dims];
        var p = 0;
        for (var i = 1; i < n; i++)
        {
            for (var j = 0; j < i; j++)
            {
                for (var d = 0; d < dims; d++)
                {
                    var diff = x[i][d] - x[j][d];
                    result[p++] = diff * diff;
                }
            }
        }
        return result;
    }

    /// <summary>The negative log posterior of θ (marginal likelihood times the priors) and its gradient.</summary>
    internal static double NegativeLogPosterior(ReadOnlySpan<double> theta, Span<double> gradient, double[] squared, double[] y, int dims)
    {
        var value = NegativeLogMarginalLikelihood(theta, gradient, squared, y, dims);
        if (!double.IsFinite(value)) return value;
        for (var d = 0; d < dims; d++) value += Prior(theta[d], LengthPriorMean, LengthPriorSd, ref gradient[d]);
        value += Prior(theta[dims], SignalPriorMean, SignalPriorSd, ref gradient[dims]);
        value += Prior(theta[dims + 1], NoisePriorMean, NoisePriorSd, ref gradient[dims + 1]);
        return value;
    }

    /// <summary>-log p(y | θ) and its gradient, by the trace formula ∂/∂θ = -½ tr((ααᵀ - K⁻¹) ∂K/∂θ).</summary>
    internal static double NegativeLogMarginalLikelihood(ReadOnlySpan<double> theta, Span<double> gradient, double[] squared, double[] y, int dims)
    {
        var n = y.Length;
        Span<double> inverseLengthSq = stackalloc double[dims];
        for (var d = 0; d < dims; d++) inverseLengthSq[d] = Math.Exp(-2 * theta[d]);
        var signal = Math.Exp(theta[dims]);
        var noise = MinNoise + Math.Exp(theta[dims + 1]);
        var k = new double[n * n];
        var pairs = n * (n - 1) / 2;
        var kernel = new double[pairs]; // k(xᵢ, xⱼ) for i > j
        var a = new double[pairs];      // σ²·5/3·(1+√5r)·e^{-√5r}: ∂k/∂log ℓ_d = a·(xᵢ_d - xⱼ_d)²/ℓ_d²
        var p = 0;
        for (var i = 1; i < n; i++)
        {
            for (var j = 0; j < i; j++, p++)
            {
                var r2 = 0.0;
                var offset = p * dims;
                for (var d = 0; d < dims; d++) r2 += squared[offset + d] * inverseLengthSq[d];
                var r = Math.Sqrt(r2);
                var e = Math.Exp(-Sqrt5 * r);
                kernel[p] = signal * (1 + (Sqrt5 * r) + (5.0 / 3.0 * r2)) * e;
                a[p] = signal * (5.0 / 3.0) * (1 + (Sqrt5 * r)) * e;
                k[(i * n) + j] = kernel[p];
                k[(j * n) + i] = kernel[p];
            }
        }
        for (var i = 0; i < n; i++) k[(i * n) + i] = signal + noise;
        var chol = Cholesky.TryFactor(k, n);
        if (chol is null)
        {
            gradient.Clear();
            return double.PositiveInfinity;
        }
        var alpha = (double[])y.Clone();
        chol.Solve(alpha);
        var value = (0.5 * VectorMath.Dot(y, alpha)) + (0.5 * chol.LogDeterminant()) + (0.5 * n * Math.Log(2 * Math.PI));
        var inverse = chol.Inverse();
        // W = ααᵀ - K⁻¹ is symmetric: the off-diagonal pairs count twice, the diagonal once (where ∂k/∂log ℓ is 0).
        gradient.Clear();
        var signalSum = 0.0;
        var trace = 0.0;
        for (var i = 0; i < n; i++)
        {
            var wii = (alpha[i] * alpha[i]) - inverse[(i * n) + i];
            trace += wii;
            signalSum += wii * signal;
        }
        p = 0;
        for (var i = 1; i < n; i++)
        {
            for (var j = 0; j < i; j++, p++)
            {
                var w = 2 * ((alpha[i] * alpha[j]) - inverse[(i * n) + j]);
                signalSum += w * kernel[p];
                var wa = w * a[p];
                var offset = p * dims;
                for (var d = 0; d < dims; d++) gradient[d] += wa * squared[offset + d];
            }
        }
        for (var d = 0; d < dims; d++) gradient[d] *= -0.5 * inverseLengthSq[d];
        gradient[dims] = -0.5 * signalSum;
        gradient[dims + 1] = -0.5 * trace * (noise - MinNoise);
        return value;
    }

    private static double Prior(double t, double mean, double sd, ref double gradient)
    {
        var z = (t - mean) / sd;
        gradient += z / sd;
        return 0.5 * z * z;
    }

    private void Condition()
    {
        var n = _n;
        var k = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var kij = Kernel(_x[i], _x[j]);
                k[(i * n) + j] = kij;
                k[(j * n) + i] = kij;
            }
            k[(i * n) + i] += NoiseVariance;
        }
        // Jitter grows until the factorisation succeeds (duplicated points with a tiny noise can defeat it).
        var jitter = 0.0;
        Cholesky? chol = null;
        for (var attempt = 0; attempt < 10 && chol is null; attempt++)
        {
            if (attempt > 0)
            {
                var add = jitter == 0 ? 1e-8 : jitter * 9;
                for (var i = 0; i < n; i++) k[(i * n) + i] += add;
                jitter += add;
            }
            chol = Cholesky.TryFactor(k, n);
        }
        _chol = chol ?? throw new InvalidOperationException("the Gaussian process kernel matrix is not positive definite even with jitter");
        _alpha = (double[])_y.Clone();
        _chol.Solve(_alpha);
    }

    /// <summary>k(a, b) under the fitted hyperparameters.</summary>
    public double Kernel(double[] a, double[] b) => KernelOfDistance(Distance(a, b));

    private double Distance(double[] a, double[] b)
    {
        var r2 = 0.0;
        for (var d = 0; d < _dims; d++)
        {
            var diff = a[d] - b[d];
            r2 += diff * diff * _inverseLengthSq[d];
        }
        return Math.Sqrt(r2);
    }

    private double KernelOfDistance(double r) => _signal * (1 + (Sqrt5 * r) + (5.0 / 3.0 * r * r)) * Math.Exp(-Sqrt5 * r);

    /// <summary>The posterior mean and variance at x.</summary>
    public (double Mean, double Variance) Predict(double[] x)
    {
        var mean = Condition(x);
        return (mean, Variance());
    }

    /// <summary>Fills k(x, ·), the distances and v = L⁻¹k(x); returns the mean.</summary>
    private double Condition(double[] x)
    {
        for (var i = 0; i < _n; i++)
        {
            _r[i] = Distance(x, _x[i]);
            _kx[i] = KernelOfDistance(_r[i]);
        }
        var mean = VectorMath.Dot(_kx, _alpha);
        _kx.CopyTo(_v, 0);
        _chol!.SolveLower(_v);
        return mean;
    }

    private double Variance() => Math.Max(_signal - VectorMath.Dot(_v, _v), 1e-12);

    /// <summary>log expected improvement below <paramref name="best"/> at x, and (when asked) its gradient with respect to x.</summary>
    public double LogExpectedImprovement(double[] x, double best, Span<double> gradient)
    {
        var mean = Condition(x);
        var sigma = Math.Sqrt(Variance());
        var z = (best - mean) / sigma;
        var logEi = Math.Log(sigma) + SpecialFunctions.LogH(z);
        if (gradient.Length == 0) return logEi;
        // β = K⁻¹k(x), for the variance's gradient.
        _chol!.SolveUpper(_v);
        var ratio = SpecialFunctions.LogHDerivative(z);
        var dMean = -ratio / sigma;
        var dSigma = (1 - (ratio * z)) / sigma;
        gradient.Clear();
        for (var i = 0; i < _n; i++)
        {
            // ∂k/∂x_d = -σ²·5/3·(1 + √5r)·e^{-√5r}·(x_d - xᵢ_d)/ℓ_d²
            var r = _r[i];
            var common = -_signal * (5.0 / 3.0) * (1 + (Sqrt5 * r)) * Math.Exp(-Sqrt5 * r);
            var weight = (dMean * _alpha[i]) - (dSigma / sigma * _v[i]);
            for (var d = 0; d < gradient.Length; d++) gradient[d] += weight * common * (x[d] - _x[i][d]) * _inverseLengthSq[d];
        }
        return logEi;
    }
}
