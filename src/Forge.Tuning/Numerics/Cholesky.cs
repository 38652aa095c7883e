namespace Forge.Tuning.Numerics;

/// <summary>
/// The Cholesky factor L (lower triangular, row-major n×n) of a symmetric positive-definite matrix, with the solves the
/// Gaussian process needs. Small dense matrices only: the GP keeps at most a few hundred observations.
/// </summary>
internal sealed class Cholesky
{
    private Cholesky(double[] factor, int n)
    {
        Factor = factor;
        Size = n;
    }

    /// <summary>L, row-major: L[i, j] = Factor[i * Size + j] for j ≤ i; zeros above the diagonal.</summary>
    public double[] Factor { get; }

    public int Size { get; }

    /// <summary>Factors <paramref name="matrix"/> (row-major n×n, only the lower triangle is read); null when it is not positive definite.</summary>
    public static Cholesky? TryFactor(ReadOnlySpan<double> matrix, int n)
    {
        var l = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            var rowI = i * n;
            for (var j = 0; j <= i; j++)
            {
                var rowJ = j * n;
                var sum = matrix[rowI + j] - VectorMath.Dot(l.AsSpan(rowI, j), l.AsSpan(rowJ, j));
                if (i == j)
                {
                    if (!(sum > 0) || double.IsInfinity(sum)) return null;
                    l[rowI + i] = Math.Sqrt(sum);
                }
                else
                {
                    l[rowI + j] = sum / l[rowJ + j];
                }
            }
        }
        return new Cholesky(l, n);
    }

    /// <summary>Solves L·y = b in place.</summary>
    public void SolveLower(Span<double> b)
    {
        var n = Size;
        for (var i = 0; i < n; i++)
        {
            var row = i * n;
            b[i] = (b[i] - VectorMath.Dot(Factor.AsSpan(row, i), b[..i])) / Factor[row + i];
        }
    }

    /// <summary>Solves Lᵀ·x = y in place.</summary>
    public void SolveUpper(Span<double> y)
    {
        var n = Size;
        for (var i = n - 1; i >= 0; i--)
        {
            var sum = y[i];
            for (var k = i + 1; k < n; k++) sum -= Factor[(k * n) + i] * y[k];
            y[i] = sum / Factor[(i * n) + i];
        }
    }

    /// <summary>Solves A·x = b (A = L·Lᵀ) in place.</summary>
    public void Solve(Span<double> b)
    {
        SolveLower(b);
        SolveUpper(b);
    }

    /// <summary>log det A = 2 Σ log L[i, i].</summary>
    public double LogDeterminant()
    {
        var sum = 0.0;
        for (var i = 0; i < Size; i++) sum += Math.Log(Factor[(i * Size) + i]);
        return 2 * sum;
    }

    /// <summary>A⁻¹ as a full row-major matrix (through L⁻¹, which is lower triangular).</summary>
    public double[] Inverse()
    {
        var n = Size;
        // Row j of c holds column j of L⁻¹ (zero above the diagonal), so both loops below are contiguous dot products:
        // c[j][i] = (δᵢⱼ - Σ_{j≤k<i} L[i, k]·c[j][k]) / L[i, i].
        var c = new double[n * n];
        for (var j = 0; j < n; j++)
        {
            var cj = c.AsSpan(j * n, n);
            for (var i = j; i < n; i++)
            {
                var row = i * n;
                var sum = (i == j ? 1.0 : 0.0) - VectorMath.Dot(Factor.AsSpan(row + j, i - j), cj.Slice(j, i - j));
                cj[i] = sum / Factor[row + i];
            }
        }
        // A⁻¹ = L⁻ᵀ·L⁻¹: entry (i, j) = Σ_{k ≥ max(i, j)} L⁻¹[k, i]·L⁻¹[k, j] = c[i]·c[j] from k = max(i, j).
        var result = new double[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = VectorMath.Dot(c.AsSpan((i * n) + i, n - i), c.AsSpan((j * n) + i, n - i));
                result[(i * n) + j] = sum;
                result[(j * n) + i] = sum;
            }
        }
        return result;
    }
}
