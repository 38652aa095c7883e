using Forge.Core;
using Forge.Data;
using Forge.DeepLearning;
using Forge.DeepLearning.Transfer;
using Forge.Text;

namespace Forge.Cli.Tests;

/// <summary>Every name a trainer makes up on its own passes the one rule the registry and the server apply.</summary>
public sealed class GeneratedNameTests
{
    [Fact]
    public void Every_default_name_a_trainer_generates_is_a_valid_model_name()
    {
        var names = new List<string>();
        foreach (var dataset in DatasetCatalog.All)
        {
            foreach (var spec in new[] { ModelSpec.Cnn(), ModelSpec.Mlp(), ModelSpec.ReferenceCnn() })
                names.Add(ImageTraining.ModelName(new ImageTrainingRequest { Dataset = dataset.Name, Spec = spec, OutputDirectory = "x" }));
            foreach (var mode in Enum.GetValues<TransferMode>())
                names.Add(TransferTraining.ModelName(new TransferRequest { Dataset = dataset.Name, OutputDirectory = "x", Options = new TransferOptions { Mode = mode } }));
        }
        foreach (var baseline in new[] { false, true })
        {
            names.Add(SentimentTraining.ModelName(new SentimentTrainingRequest { Dataset = "sentiment", Baseline = baseline }));
            names.Add(SentimentTraining.ModelName(new SentimentTrainingRequest { Dataset = "airline-tweets", Baseline = baseline }));
            names.Add(SentimentTraining.ModelName(new SentimentTrainingRequest { Dataset = "sentiment", Include = ["airline-tweets"], Baseline = baseline }));
        }

        Assert.Contains("sentiment-airline-tweets-minilm-logreg", names);
        Assert.Contains("mnist-cnn", names);
        Assert.Contains("plantvillage-resnet18-fine-tune", names);
        Assert.All(names, n => Assert.Null(ModelNames.Problem(n)));
    }

    [Fact]
    public void A_name_the_server_would_refuse_is_refused_before_training_with_the_same_message()
    {
        var photos = Directory.CreateTempSubdirectory("forge-names-");
        try
        {
            var folder = Directory.CreateDirectory(Path.Combine(photos.FullName, "My Photos")).FullName;
            var fromFolder = Assert.Throws<UsageException>(() => TransferTraining.Validate(new TransferRequest { Dataset = folder, OutputDirectory = Path.Combine(photos.FullName, "out") }));
            Assert.StartsWith(ModelNames.Problem("My Photos-resnet18-fine-tune")!, fromFolder.Message, StringComparison.Ordinal);
            Assert.Contains("--name", fromFolder.Message, StringComparison.Ordinal);

            var given = Assert.Throws<UsageException>(() => ImageTraining.Validate(new ImageTrainingRequest { Dataset = "mnist", Name = "a..b", OutputDirectory = Path.Combine(photos.FullName, "out") }));
            Assert.Equal(ModelNames.Problem("a..b"), given.Message);
            var text = Assert.Throws<UsageException>(() => SentimentTraining.Validate(new SentimentTrainingRequest { Name = "support chat" }));
            Assert.Contains(ModelNames.Problem("support chat")!, text.Message, StringComparison.Ordinal);
        }
        finally
        {
            photos.Delete(recursive: true);
        }
    }
}
