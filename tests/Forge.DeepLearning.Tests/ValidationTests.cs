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
    public void Every_bad_trainer_option_is_reported_in_one_error()
    {
        var options = new TrainerOptions
        {
            Epochs = 0,
            BatchSize = -4,
            LearningRate = double.NaN,
            Optimizer = "adamm",
            Schedule = "cosin",
            ValidationFraction = 1,
            ClipGradNorm = -1,
            Resume = true,
            Threads = -2,
        };

        var ex = Assert.Throws<UsageException>(options.Validate);

        var problems = ex.Message.Split("; ", StringSplitOptions.None);
        Assert.Contains("epochs must be at least 1 (got 0)", problems);
        Assert.Contains("batch size must be at least 1 (got -4)", problems);
        Assert.Contains("learning rate must be positive (got NaN)", problems);
        Assert.Contains("unknown optimizer 'adamm'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("did you mean 'adam'?", ex.Message, StringComparison.Ordinal);
        Assert.Contains("unknown schedule 'cosin'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("did you mean 'cosine'?", ex.Message, StringComparison.Ordinal);
        Assert.Contains("validation fraction must be in [0, 1) (got 1)", problems);
        Assert.Contains("gradient clipping norm must not be negative", problems);
        Assert.Contains("resume needs a checkpoint directory", problems);
        Assert.Contains("threads must not be negative", problems);
    }

    [Fact]
    public void Options_that_need_a_validation_split_say_so()
    {
        var options = new TrainerOptions { ValidationFraction = 0, Schedule = "plateau", EarlyStoppingPatience = 2 };

        var ex = Assert.Throws<UsageException>(options.Validate);

        Assert.Equal("the plateau schedule needs a validation split; early stopping needs a validation split", ex.Message);
    }

    [Fact]
    public void The_trainer_validates_before_it_trains()
    {
        Assert.Throws<UsageException>(() => new ImageClassifierTrainer(ModelSpec.Mlp(), new TrainerOptions { Epochs = 0 }));
        Assert.Throws<UsageException>(() => new ImageClassifierTrainer(ModelSpec.Mlp() with { Kind = "rnn" }, new TrainerOptions()));
    }
}
