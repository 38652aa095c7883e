using Forge.Core;

namespace Forge.DeepLearning.Tests;

public sealed class ValidationTests
{
    [Fact]
    public void Unknown_model_name_suggests_the_closest()
    {
        var ex = Assert.Throws<NotFoundException>(() => ModelSpec.FromName("mpl"));

        Assert.Equal("unknown model 'mpl'; did you mean 'mlp'?", ex.Message);
        Assert.Equal("mlp", ex.Suggestion);
    }

    [Fact]
    public void Model_names_ignore_case()
    {
        Assert.Equal("reference-cnn", ModelSpec.FromName("Reference-CNN").Kind);
    }

    [Fact]
    public void Every_bad_spec_field_is_reported_at_once()
    {
        var spec = ModelSpec.Cnn() with { Activation = "swish", Dropout = 1.5, Channels = [] };

        var ex = Assert.Throws<UsageException>(spec.Validate);

        Assert.Contains("activation 'swish'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("dropout 1.5", ex.Message, StringComparison.Ordinal);
        Assert.Contains("at least one conv block", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_bad_trainer_option_is_reported_in_one_error_naming_the_option()
    {
        var options = new TrainerOptions
        {
            Epochs = 0,
            BatchSize = -4,
            LearningRate = double.NaN,
            Optimizer = (OptimizerKind)42,
            ValidationFraction = 1,
            ClipGradNorm = -1,
            Resume = true,
            Threads = -2,
            Nesterov = true,
        };

        var ex = Assert.Throws<OptionsException>(options.Validate);

        Assert.Equal(
        [
            "epochs: must be at least 1 (got 0)",
            "batchSize: must be at least 1 (got -4)",
            "learningRate: must be positive (got NaN)",
            "optimizer: 42 is not an optimiser",
            "validationFraction: must be in [0, 1) (got 1)",
            "clipGradNorm: must not be negative (got -1)",
            "resume: needs a checkpoint directory (checkpointDirectory)",
            "threads: must not be negative (got -2)",
            "nesterov: applies to the sgd optimizer only",
        ], ex.Problems.Select(p => p.ToString()));
        Assert.Equal(string.Join("; ", ex.Problems), ex.Message);
        Assert.Equal("--resume: needs a checkpoint directory (--checkpoint-dir)", ex.Problems[6].Render(o => o == "checkpointDirectory" ? "--checkpoint-dir" : "--" + o));
        // Every problem names an option of the generated map, so a front end can name its own flag for it.
        Assert.All(ex.Problems, p => Assert.Contains(p.Option, options.ToDictionary().Keys));
    }

    [Fact]
    public void Options_that_need_a_validation_split_say_so()
    {
        var options = new TrainerOptions { ValidationFraction = 0, Schedule = LearningRateScheduleKind.Plateau, EarlyStoppingPatience = 2 };

        var ex = Assert.Throws<OptionsException>(options.Validate);

        Assert.Equal("schedule: plateau needs a validation split (validationFraction > 0); earlyStoppingPatience: needs a validation split (validationFraction > 0)", ex.Message);
    }

    [Fact]
    public void The_hyperparameter_map_holds_every_public_option()
    {
        var map = new TrainerOptions { Optimizer = OptimizerKind.Sgd, Schedule = LearningRateScheduleKind.OneCycle }.ToDictionary();
        var properties = typeof(TrainerOptions).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
            .Where(p => p.Name != "EqualityContract").Select(p => OptionsMap.Key(p.Name));

        Assert.Equal(properties.Order(StringComparer.Ordinal), map.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("sgd", map["optimizer"]);
        Assert.Equal("onecycle", map["schedule"]);
        Assert.Equal("2", map["augmentShift"]);
        Assert.Equal("none", map["checkpointDirectory"]);
    }

    [Fact]
    public void The_transfer_options_map_holds_every_public_option_and_its_problems_name_them()
    {
        var options = new Transfer.TransferOptions { Epochs = 0, LearningRate = -1, BatchSize = 1, HeadDropout = 1, ImageSize = 300 };
        var map = OptionsMap.From(options);
        var properties = typeof(Transfer.TransferOptions).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
            .Where(p => p.Name is not ("EqualityContract" or "Augmentation")).Select(p => OptionsMap.Key(p.Name))
            .Concat(typeof(Transfer.RgbAugmentation).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance).Where(p => p.Name != "EqualityContract").Select(p => "augmentation." + OptionsMap.Key(p.Name)));

        Assert.Equal(properties.Order(StringComparer.Ordinal), map.Keys.Order(StringComparer.Ordinal));
        var ex = Assert.Throws<OptionsException>(options.Validate);
        Assert.Equal(["epochs", "learningRate", "batchSize", "headDropout", "imageSize"], ex.Problems.Select(p => p.Option));
        Assert.Contains("300 exceeds the decoded size 256", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_trainer_validates_before_it_trains()
    {
        Assert.Equal("epochs", Assert.Throws<OptionsException>(() => new ImageClassifierTrainer(ModelSpec.Mlp(), new TrainerOptions { Epochs = 0 })).Problems.Single().Option);
        Assert.Throws<UsageException>(() => new ImageClassifierTrainer(ModelSpec.Mlp() with { Kind = "rnn" }, new TrainerOptions()));
    }
}
