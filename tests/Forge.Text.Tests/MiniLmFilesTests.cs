using Forge.Core;
using Forge.Text;

namespace Forge.Text.Tests;

public sealed class MiniLmFilesTests : IDisposable
{
    private readonly TempDir _temp = new("forge-minilm-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Extraction_writes_checked_files_reuses_them_and_repairs_a_damaged_one()
    {
        var first = MiniLmFiles.Extract(_temp.Combine("a"));
        var modelTime = File.GetLastWriteTimeUtc(first.ModelPath);

        Assert.Equal(MiniLmFiles.ModelSha256, MiniLmFiles.Sha256Of(first.ModelPath));
        Assert.Equal(MiniLmFiles.VocabSha256, MiniLmFiles.Sha256Of(first.VocabPath));
        Assert.Equal(30_522, File.ReadAllLines(first.VocabPath).Length);
        // Nothing but the two files: the temporary files were renamed into place.
        Assert.Equal(["model.onnx", "vocab.txt"], Directory.EnumerateFiles(_temp.Combine("a")).Select(Path.GetFileName).Order());

        File.WriteAllText(first.VocabPath, "[PAD]\n");
        MiniLmFiles.Extract(_temp.Combine("b"));
        var again = MiniLmFiles.Extract(_temp.Combine("a"));

        Assert.Equal(MiniLmFiles.VocabSha256, MiniLmFiles.Sha256Of(again.VocabPath));
        Assert.Equal(modelTime, File.GetLastWriteTimeUtc(again.ModelPath));
    }

    [Fact]
    public void Training_requests_report_every_problem_at_once()
    {
        var request = new SentimentTrainingRequest { Dataset = "mnist", Include = ["sentiment"], Folds = 1, Limit = 5, CGrid = [0], TrainShare = 0 };

        var e = Assert.Throws<UsageException>(() => SentimentTraining.Validate(request));

        foreach (var part in new[] { "dataset 'mnist' is not a text dataset", "--include sentiment", "folds must be at least 2", "C grid", "--limit must be at least 20", "training share must be in (0, 1] (got 0)" })
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        foreach (var share in new[] { 1.5, double.NaN, -0.1 })
            Assert.Contains("training share", Assert.Throws<UsageException>(() => SentimentTraining.Validate(new SentimentTrainingRequest { TrainShare = share })).Message, StringComparison.Ordinal);
        SentimentTraining.Validate(new SentimentTrainingRequest { TrainShare = 1 });
    }
}
