namespace Forge.Core.Tests;

public sealed class ModelCardTests
{
    private static readonly DateTimeOffset Created = new(2026, 3, 4, 5, 6, 8, TimeSpan.Zero);

    private static ModelManifest FullManifest() => new()
    {
        Name = "pets",
        Flavor = ModelFlavors.TorchImage,
        Description = "  Tells pets apart.\n",
        License = " MIT ",
        Signature = new ModelSignature(
            [new TensorSpec("image", "float32", [-1, 3, 32, 32]), new TensorSpec("mask", "uint8", [-1, 32, 32])],
            [new TensorSpec("probabilities", "float32", [-1, 3])],
            ["cat", "dog", "bird"]),
        Metrics = new() { ["macroF1"] = 0.9, ["accuracy"] = 0.912345 },
        Training = new TrainingInfo
        {
            RunId = "run-7",
            Dataset = "pets-v2",
            DatasetChecksum = "sha256:abc",
            // "Beta" before "batchSize" only in ordinal order, which keeps the card the same on every machine.
            Hyperparameters = new Dictionary<string, string> { ["lr"] = "0.001", ["batchSize"] = "64", ["Beta"] = "0.9" },
            Seed = 42,
            GitCommit = "deadbeef",
            DurationSeconds = 12.34,
            Epochs = 3,
            Split = "80/10/10 by file name",
        },
        Versions = new RuntimeVersions("0.1.0+abc", "0.107.0", "2.10.0"),
        CreatedAt = Created,
    };

    private static ModelManifest BareManifest() => new()
    {
        Name = "bare",
        Flavor = ModelFlavors.Onnx,
        Task = "regression",
        Signature = new ModelSignature([new TensorSpec("x", "float32", [-1, 4])], [new TensorSpec("y", "float32", [-1, 1])], []),
        Versions = new RuntimeVersions("0.1.0", null, null),
        CreatedAt = Created,
    };

    /// <summary>The text under a "## heading", without the heading and the blank line after it.</summary>
    private static string Section(string card, string heading)
    {
        var start = card.IndexOf($"## {heading}\n\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no '## {heading}' section in:\n{card}");
        start += heading.Length + 5;
        var end = card.IndexOf("\n## ", start, StringComparison.Ordinal);
        return end < 0 ? card[start..] : card[start..(end + 1)];
    }

    [Fact]
    public void Card_of_a_fully_described_model_lists_everything_in_order()
    {
        var card = ModelCard.Render(FullManifest());

        Assert.Equal(
            """
            # pets

            Tells pets apart.

            ## Model

            | | |
            |---|---|
            | Flavor | torch-image |
            | Task | classification |
            | Bundle format | 1 |
            | Created | 2026-03-04 05:06:08 UTC |
            | Labels | cat, dog, bird |
            | Input `image` | float32 [N x 3 x 32 x 32] |
            | Input `mask` | uint8 [N x 32 x 32] |

            ## Training data

            | | |
            |---|---|
            | Dataset | pets-v2 |
            | Dataset checksum | sha256:abc |
            | Run | run-7 |
            | Seed | 42 |
            | Source commit | deadbeef |
            | Epochs | 3 |
            | Split | 80/10/10 by file name |
            | Training time | 12.3 s |

            ### Hyperparameters

            | name | value |
            |---|---|
            | Beta | 0.9 |
            | batchSize | 64 |
            | lr | 0.001 |

            ## Metrics

            | metric | value |
            |---|---|
            | accuracy | 0.9123 |
            | macroF1 | 0.9 |

            ## Versions

            | | |
            |---|---|
            | Forge | 0.1.0+abc |
            | TorchSharp | 0.107.0 |
            | libtorch | 2.10.0 |

            ## Intended use and limits

            Intended for classification into the labels above, of inputs like the pets-v2 dataset. The metrics hold only for data drawn the same way; expect worse on anything else, check inputs for drift before trusting predictions, and do not use it for decisions about people without human review.

            ## License

            MIT

            """.ReplaceLineEndings("\n"),
            card);
    }

    [Fact]
    public void Card_of_a_bare_model_says_what_was_not_recorded()
    {
        var card = ModelCard.Render(BareManifest());

        Assert.Equal(
            """
            # bare

            ## Model

            | | |
            |---|---|
            | Flavor | onnx |
            | Task | regression |
            | Bundle format | 1 |
            | Created | 2026-03-04 05:06:08 UTC |
            | Labels | (none) |
            | Input `x` | float32 [N x 4] |

            ## Training data

            Not recorded.

            ## Metrics

            None recorded.

            ## Versions

            | | |
            |---|---|
            | Forge | 0.1.0 |

            ## Intended use and limits

            Intended for regression, of inputs like its training data. The metrics hold only for data drawn the same way; expect worse on anything else, check inputs for drift before trusting predictions, and do not use it for decisions about people without human review.

            ## License

            Not stated.

            """.ReplaceLineEndings("\n"),
            card);
    }

    [Fact]
    public void Blank_description_and_license_count_as_absent()
    {
        var manifest = FullManifest();
        manifest.Description = " \n ";
        manifest.License = "\t";

        var card = ModelCard.Render(manifest);

        Assert.StartsWith("# pets\n\n## Model\n\n", card, StringComparison.Ordinal);
        Assert.Equal("Not stated.\n", Section(card, "License"));
    }

    [Fact]
    public void Training_rows_that_were_not_recorded_are_left_out_except_the_checksum()
    {
        var manifest = BareManifest();
        manifest.Training = new TrainingInfo { Dataset = "housing", DurationSeconds = 12.0, Epochs = 0 };
        manifest.Versions = manifest.Versions with { LibTorch = "2.10.0" };

        var card = ModelCard.Render(manifest);

        // The checksum row stays so that a missing one is visible, not silently absent.
        Assert.Equal(
            "| | |\n|---|---|\n| Dataset | housing |\n| Dataset checksum | not recorded |\n| Epochs | 0 |\n| Training time | 12 s |\n\n",
            Section(card, "Training data"));
        Assert.Contains("of inputs like the housing dataset. ", card, StringComparison.Ordinal);
        Assert.Equal("| | |\n|---|---|\n| Forge | 0.1.0 |\n| libtorch | 2.10.0 |\n\n", Section(card, "Versions"));
    }

    [Theory]
    [InlineData(new[] { -1, 3, 32, 32 }, "float32 [N x 3 x 32 x 32]")]
    [InlineData(new[] { -1, -1 }, "float32 [N x N]")]
    [InlineData(new[] { 0, 1 }, "float32 [0 x 1]")]
    [InlineData(new int[0], "float32 []")]
    public void Input_shapes_show_free_dimensions_as_N(int[] shape, string expected)
    {
        var manifest = BareManifest();
        manifest.Signature = manifest.Signature with { Inputs = [new TensorSpec("x", "float32", shape)] };

        var card = ModelCard.Render(manifest);

        Assert.Contains($"| Input `x` | {expected} |\n", card, StringComparison.Ordinal);
    }

    [Fact]
    public void Creation_time_is_shown_in_utc_whatever_offset_it_was_recorded_with()
    {
        var manifest = BareManifest();
        manifest.CreatedAt = new DateTimeOffset(2026, 3, 4, 1, 30, 0, TimeSpan.FromHours(2));

        var card = ModelCard.Render(manifest);

        Assert.Contains("| Created | 2026-03-03 23:30:00 UTC |\n", card, StringComparison.Ordinal);
    }
}
