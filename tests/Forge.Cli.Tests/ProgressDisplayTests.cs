using Spectre.Console.Testing;

namespace Forge.Cli.Tests;

/// <summary>Progress goes through an injected Spectre console, so what a user would see can be read back.</summary>
public sealed class ProgressDisplayTests
{
    [Fact]
    public void Redirected_output_gets_plain_lines_ending_at_the_final_state()
    {
        var console = new TestConsole();

        using (var bar = new ProgressDisplay(console, "train") { PlainInterval = TimeSpan.Zero })
        {
            bar.Update(0.3, "epoch 1/3 [batch 10/40]");
            bar.Line("epoch 1: loss 0.1234");
            bar.Update(1.0, "epoch 3/3 done");
        }
        using (var quiet = new ProgressDisplay(console, "predict") { PlainInterval = TimeSpan.FromHours(1) })
        {
            quiet.Update(0.5, "500/1,000 texts");
            quiet.Update(1.0, "1,000/1,000 texts");
        }

        // Markup characters are text; every line is plain; the interval holds back all but the final state.
        Assert.Equal(["train: 30.0% epoch 1/3 [batch 10/40]", "epoch 1: loss 0.1234", "train: 100.0% epoch 3/3 done", "predict: 100.0% 1,000/1,000 texts"],
            console.Lines.Where(l => l.Trim().Length > 0).Select(l => l.TrimEnd()));
        Assert.DoesNotContain('\u001b', console.Output);
    }

    [Fact]
    public void A_terminal_gets_a_live_bar_drawn_with_ansi()
    {
        var console = new TestConsole().Interactive().EmitAnsiSequences();

        using (var bar = new ProgressDisplay(console, "download"))
        {
            bar.Update(0.5, "mnist 4.2 MB");
            Thread.Sleep(250);
            bar.Update(1, "mnist 9.9 MB");
        }

        Assert.Contains("download mnist 9.9 MB", console.Output, StringComparison.Ordinal);
        Assert.Contains("100%", console.Output, StringComparison.Ordinal);
        Assert.Contains('\u001b', console.Output);
    }
}
