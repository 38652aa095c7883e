using TorchSharp;

namespace Forge.DeepLearning.Tests;

[Collection(TorchCollection.Name)]
public sealed class ParallelInferenceTests
{
    [Fact]
    public void Results_come_back_in_batch_order_with_autograd_off_and_the_thread_count_restored()
    {
        var before = torch.get_num_threads();
        var seen = new List<int>();
        var results = ParallelInference.Run(17, b =>
        {
            Assert.False(torch.is_grad_enabled());
            using var t = torch.full(3, (float)b);
            return (int)t.sum().item<float>();
        }, workers: 3, completed: seen.Add);
        Assert.Equal(Enumerable.Range(0, 17).Select(b => 3 * b), results);
        Assert.Equal(Enumerable.Range(0, 17), seen.Order());
        Assert.Equal(before, torch.get_num_threads());
    }

    [Fact]
    public void A_failing_batch_fails_the_call_with_its_exception()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ParallelInference.Run(8, b => b == 5 ? throw new InvalidOperationException("batch 5") : b, workers: 2));
        Assert.Equal("batch 5", e.Message);
    }
}
