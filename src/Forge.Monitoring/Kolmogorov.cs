namespace Forge.Monitoring;

/// <summary>
/// Distributions of Kolmogorov–Smirnov statistics: Kolmogorov's limiting distribution, the exact one-sided Smirnov
/// tail, and the two-sided distribution of D_n for finite n (Simard &amp; L'Ecuyer's choice between Durbin's matrix
/// method, Pomeranz's recursion, the Pelz–Good expansion and the Smirnov tail) — the same choice scipy's
/// <c>kstwo</c> makes, so p-values agree with it.
/// </summary>
public static class Kolmogorov
{
    private const double Scale = 3.402823669209385e38; // 2^128: rescales the matrix powers before they overflow.
    private const int ScaleExponent = 128;
    private const double MinLog = -708;
    private static readonly double SqrtTwoPi = Math.Sqrt(2 * Math.PI);

    /// <summary>
    /// Kolmogorov's limiting distribution: P(√n·D_n ≥ <paramref name="x"/>) as n → ∞ (scipy's <c>kolmogorov</c>,
    /// <c>kstwobign.sf</c>).
    /// </summary>
    public static double LimitingSf(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x <= 0) return 1;
        if (x >= 1)
        {
            // 2 Σ (-1)^(k-1) exp(-2k²x²): converges fast for x ≥ 1.
            double p = 0, sign = 1;
            for (var k = 1; k < 1000; k++)
            {
                var t = Math.Exp(-2.0 * x * x * k * k);
                p += sign * t;
                if (t == 0 || t <= Math.Abs(p) * 2.220446049250313e-16) break;
                sign = -sign;
            }
            return 2 * p;
        }
        // √(2π)/x Σ exp(-(2k-1)²π²/(8x²)) is the CDF; it converges fast for small x.
        double cdf = 0;
        var alpha = -Math.PI * Math.PI / (8 * x * x);
        for (var r = 1; r < 1000; r += 2)
        {
            var t = Math.Exp(alpha * r * r);
            cdf += t;
            if (t == 0 || t < cdf * 2.220446049250313e-16) break;
        }
        return 1 - cdf * SqrtTwoPi / x;
    }

    /// <summary>
    /// The exact one-sided Smirnov tail P(D_n⁺ ≥ <paramref name="x"/>) by Birnbaum and Tingey's sum, evaluated in
    /// log space so large n neither overflows nor loses the small terms (scipy's <c>smirnov</c>).
    /// </summary>
    public static double SmirnovSf(int n, double x)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (double.IsNaN(x)) return double.NaN;
        if (x <= 0) return 1;
        if (x >= 1) return 0;
        var last = (int)Math.Floor(n * (1 - x));
        var logs = new double[last + 1];
        var max = double.NegativeInfinity;
        var logFactN = SpecialFunctions.LogGamma(n + 1.0);
        for (var v = 0; v <= last; v++)
        {
            var evn = x + (double)v / n;
            var omevn = 1 - evn;
            double term;
            if (omevn <= 0)
            {
                // (1 - x - v/n)^(n-v) is 0 unless the exponent is 0, which needs v = n and so x = 0 (handled above).
                term = double.NegativeInfinity;
            }
            else
            {
                var logChoose = logFactN - SpecialFunctions.LogGamma(v + 1.0) - SpecialFunctions.LogGamma(n - v + 1.0);
                term = logChoose + (v - 1) * Math.Log(evn) + (n - v) * Math.Log(omevn);
            }
            logs[v] = term;
            if (term > max) max = term;
        }
        if (double.IsNegativeInfinity(max)) return 0;
        double sum = 0;
        foreach (var l in logs) sum += Math.Exp(l - max);
        var p = x * sum * Math.Exp(max);
        return Math.Clamp(p, 0, 1);
    }

    /// <summary>
    /// The two-sided one-sample distribution's tail P(D_n ≥ <paramref name="x"/>) for a sample of size
    /// <paramref name="n"/> (scipy's <c>kstwo.sf</c>).
    /// </summary>
    public static double Sf(int n, double x)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (double.IsNaN(x)) return double.NaN;
        if (x >= 1) return 0;
        if (x <= 0) return 1;
        var t = n * x;
        if (t <= 1)
        {
            // Ruben–Gambino: on 1/(2n) ≤ x ≤ 1/n the CDF is n!/n^n (2t-1)^n.
            if (t <= 0.5) return 1;
            double cdf;
            if (n <= 140)
            {
                cdf = 1;
                var step = 2 * t - 1;
                for (var i = 1; i <= n; i++) cdf *= i * (1.0 / n) * step;
            }
            else
            {
                cdf = Math.Exp(LogFactorialOverPower(n) + n * Math.Log(2 * t - 1));
            }
            return Clip(1 - cdf);
        }
        if (t >= n - 1) return Clip(2 * Math.Pow(1 - x, n));
        if (x >= 0.5) return Clip(2 * SmirnovSf(n, x));

        var nxSquared = t * x;
        if (n <= 140)
        {
            if (nxSquared <= 0.754693) return Clip(1 - DurbinMatrixCdf(n, x));
            if (nxSquared <= 4) return Clip(1 - PomeranzCdf(n, x));
            return Clip(2 * SmirnovSf(n, x));
        }
        if (nxSquared >= 370) return 0;
        if (nxSquared >= 2.2) return Clip(2 * SmirnovSf(n, x));
        var cdfLarge = n <= 100_000 && n * Math.Pow(x, 1.5) <= 1.4 ? DurbinMatrixCdf(n, x) : PelzGoodCdf(n, x);
        return Clip(1 - cdfLarge);
    }

    private static double Clip(double p) => double.IsNaN(p) ? p : Math.Clamp(p, 0, 1);

    /// <summary>ln(n!/n^n) by Stirling's series with n·ln n taken out first, so nothing cancels.</summary>
    internal static double LogFactorialOverPower(int n)
    {
        var rn = 1.0 / n;
        var r2 = rn / n;
        // B2j / (2j (2j-1)) for j = 8 down to 1, evaluated as a polynomial in 1/n².
        double[] coefficients =
        [
            -3617.0 / 122400, 1.0 / 156, -691.0 / 360360, 1.0 / 1188, -1.0 / 1680, 1.0 / 1260, -1.0 / 360, 1.0 / 12,
        ];
        double poly = 0;
        foreach (var c in coefficients) poly = poly * r2 + c;
        return Math.Log(n) / 2 - n + Math.Log(2 * Math.PI) / 2 + rn * poly;
    }

    /// <summary>P(D_n ≤ d) by Durbin's matrix method as Marsaglia, Tsang and Wang compute it (k-th diagonal element of H^n).</summary>
    internal static double DurbinMatrixCdf(int n, double d)
    {
        if (d >= 1) return 1;
        var nd = n * d;
        if (nd <= 0.5) return 0;
        var k = (int)Math.Ceiling(nd);
        var h = k - nd;
        var m = 2 * k - 1;

        var v = new double[m];
        var w = new double[m];
        double fac = 1;
        for (var j = 1; j <= m; j++)
        {
            w[j - 1] = fac;
            fac /= j;
            v[j - 1] = (1 - Math.Pow(h, j)) * fac;
        }
        var tt = Math.Pow(Math.Max(2 * h - 1, 0), m) - 2 * Math.Pow(h, m);
        v[m - 1] = (1 + tt) * fac;

        var hMatrix = new double[m * m];
        for (var i = 1; i < m; i++)
        {
            for (var r = i - 1; r < m; r++) hMatrix[r * m + i] = w[r - (i - 1)];
        }
        for (var r = 0; r < m; r++) hMatrix[r * m] = v[r];
        for (var c = 0; c < m; c++) hMatrix[(m - 1) * m + c] = v[m - 1 - c];

        var power = new double[m * m];
        for (var i = 0; i < m; i++) power[i * m + i] = 1;
        var scratch = new double[m * m];
        long expPower = 0, expH = 0;
        var nn = n;
        while (nn > 0)
        {
            if ((nn & 1) == 1)
            {
                Multiply(power, hMatrix, scratch, m);
                (power, scratch) = (scratch, power);
                expPower += expH;
            }
            Multiply(hMatrix, hMatrix, scratch, m);
            (hMatrix, scratch) = (scratch, hMatrix);
            expH *= 2;
            if (Math.Abs(hMatrix[(k - 1) * m + (k - 1)]) > Scale)
            {
                for (var i = 0; i < hMatrix.Length; i++) hMatrix[i] /= Scale;
                expH += ScaleExponent;
            }
            nn >>= 1;
        }

        var p = power[(k - 1) * m + (k - 1)];
        for (var i = 1; i <= n; i++)
        {
            p = i * p / n;
            if (Math.Abs(p) < 1 / Scale)
            {
                p *= Scale;
                expPower -= ScaleExponent;
            }
        }
        if (expPower != 0) p = ScaleB(p, expPower);
        return Clip(p);
    }

    private static double ScaleB(double p, long exponent)
    {
        // Math.ScaleB takes an int; exponents beyond ±2100 leave only 0 or ∞ anyway.
        return Math.ScaleB(p, (int)Math.Clamp(exponent, -4000, 4000));
    }

    private static void Multiply(double[] a, double[] b, double[] result, int m)
    {
        Array.Clear(result);
        for (var i = 0; i < m; i++)
        {
            for (var l = 0; l < m; l++)
            {
                var ail = a[i * m + l];
                if (ail == 0) continue;
                var rowB = l * m;
                var rowR = i * m;
                for (var j = 0; j < m; j++) result[rowR + j] += ail * b[rowB + j];
            }
        }
    }

    /// <summary>P(D_n ≤ x) by Pomeranz's recursion: each row is the previous convolved with Poisson-like weights.</summary>
    internal static double PomeranzCdf(int n, double x)
    {
        var t = n * x;
        var ll = (int)Math.Floor(t);
        var f = t - ll;
        var g = Math.Min(f, 1 - f);
        var ceilF = f > 0 ? 1 : 0;
        var roundF = f > 0.5 ? 1 : 0;
        var powers = 2 * (ll + 1);
        var gPower = new double[powers];
        var twoGPower = new double[powers];
        var oneMinusTwoGPower = new double[powers];
        gPower[0] = twoGPower[0] = oneMinusTwoGPower[0] = 1;
        double gOverN = g / n, twoGOverN = 2 * g / n, oneMinusTwoGOverN = (1 - 2 * g) / n;
        for (var m = 1; m < powers; m++)
        {
            gPower[m] = gPower[m - 1] * gOverN / m;
            twoGPower[m] = twoGPower[m - 1] * twoGOverN / m;
            oneMinusTwoGPower[m] = oneMinusTwoGPower[m - 1] * oneMinusTwoGOverN / m;
        }

        var v0 = new double[powers];
        var v1 = new double[powers];
        v1[0] = 1;
        int v0Start = 0, v1Start = 0;
        long exponent = 0;
        var (j1, _) = PomeranzBounds(0, n, ll, ceilF, roundF);
        for (var i = 1; i < 2 * n + 2; i++)
        {
            var k1 = j1;
            (v0, v1) = (v1, v0);
            (v0Start, v1Start) = (v1Start, v0Start);
            Array.Clear(v1);
            (j1, var j2) = PomeranzBounds(i, n, ll, ceilF, roundF);
            var weights = i == 1 || i == 2 * n + 1 ? gPower : i % 2 == 1 ? twoGPower : oneMinusTwoGPower;
            var length = j2 - k1 + 1;
            if (length <= 0) continue;
            var convStart = j1 - k1;
            var convLength = j2 - j1 + 1;
            var offset = k1 - v0Start;
            // Entry r of the full convolution of v0[offset..offset+length) with weights[0..length), both cut at the
            // end of their arrays as slices are.
            var aLength = Math.Min(length, powers - offset);
            var bLength = Math.Min(length, powers);
            for (var r = 0; r < convLength; r++)
            {
                var idx = convStart + r;
                double s = 0;
                for (var q = Math.Max(0, idx - (bLength - 1)); q <= Math.Min(idx, aLength - 1); q++)
                    s += v0[offset + q] * weights[idx - q];
                v1[r] = s;
            }
            var max = 0.0;
            for (var r = 0; r < convLength; r++) max = Math.Max(max, v1[r]);
            if (max > 0 && max < 1 / Scale)
            {
                for (var r = 0; r < convLength; r++) v1[r] *= Scale;
                exponent -= ScaleExponent;
            }
            v1Start = v0Start + j1 - k1;
        }

        var answer = v1[n - v1Start];
        for (var m = 1; m <= n; m++)
        {
            if (Math.Abs(answer) > Scale)
            {
                answer /= Scale;
                exponent += ScaleExponent;
            }
            answer *= m;
        }
        if (exponent != 0) answer = ScaleB(answer, exponent);
        return Clip(answer);
    }

    private static (int J1, int J2) PomeranzBounds(int i, int n, int ll, int ceilF, int roundF)
    {
        int j1, j2;
        if (i == 0)
        {
            j1 = -ll - ceilF - 1;
            j2 = ll + ceilF - 1;
        }
        else
        {
            var half = (i + 1) / 2;
            var odd = (i + 1) % 2 == 0; // i is odd
            if (odd)
            {
                if (half == n + 1)
                {
                    j1 = n - ll - ceilF - 1;
                    j2 = n + ll + ceilF - 1;
                }
                else
                {
                    j1 = half - 1 - ll - roundF - 1;
                    j2 = half + ll - 1 + ceilF - 1;
                }
            }
            else
            {
                j1 = half - 1 - ll - 1;
                j2 = half + ll + roundF - 1;
            }
        }
        return (Math.Max(j1 + 2, 0), Math.Min(j2, n));
    }

    /// <summary>The Pelz–Good approximation to P(D_n ≤ x): the Li-Chien/Korolyuk expansion rewritten for small √n·x.</summary>
    internal static double PelzGoodCdf(int n, double x)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        var z = Math.Sqrt(n) * x;
        double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
        var qLog = -Math.PI * Math.PI / 8 / z2;
        if (qLog < MinLog) return 0;
        var q = Math.Exp(qLog);
        const double pi2 = Math.PI * Math.PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;

        var k1a = -z2;
        var k1b = pi2 / 4;
        var k2a = 6 * z6 + 2 * z4;
        var k2b = (2 * z4 - 5 * z2) * pi2 / 4;
        var k2c = pi4 * (1 - 2 * z2) / 16;
        var k3d = pi6 * (5 - 30 * z2) / 64;
        var k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
        var k3b = pi2 * (135 * z4 - 96 * z6) / 4;
        var k3a = -30 * z6 - 90 * z4 * z4;

        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        var maxK = (int)Math.Ceiling(16 * z / Math.PI);
        // Horner over k of Σ c_k q^((2k-1)²), written as q · Σ c_k (q^8)^(k(k-1)/2)-style nesting.
        for (var k = maxK; k > 0; k--)
        {
            double m = 2 * k - 1, m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
            var qPower = Math.Pow(q, 8 * k);
            s0 = s0 * qPower + 1;
            s1 = s1 * qPower + (k1a + k1b * m2);
            s2 = s2 * qPower + (k2a + k2b * m2 + k2c * m4);
            s3 = s3 * qPower + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
        }
        var common = q * SqrtTwoPi;
        var k0 = s0 * common / z;
        var kk1 = s1 * common / (6 * z4);
        var kk2 = s2 * common / (72 * z4 * z3);
        var kk3 = s3 * common / (6480 * z6 * z4);

        // The second sum over all integers k adds to K2 and K3.
        var q2 = Math.Exp(-pi2 / 2 / z2);
        var sqrt3z = Math.Sqrt(3) * z;
        double extra2 = 0, extra3 = 0;
        for (var k = maxK; k > 0; k--)
        {
            double kk = (double)k * k;
            var qp = Math.Pow(q2, kk);
            extra2 += kk * qp;
            var kpi = Math.PI * k;
            extra3 += (sqrt3z + kpi) * (sqrt3z - kpi) * kk * qp;
        }
        kk2 += extra2 * pi2 * SqrtTwoPi / (-36 * z3);
        kk3 += extra3 * pi2 * SqrtTwoPi / (216 * z6);

        var sqrtN = Math.Sqrt(n);
        return k0 + kk1 / sqrtN + kk2 / n + kk3 / (n * sqrtN);
    }
}
