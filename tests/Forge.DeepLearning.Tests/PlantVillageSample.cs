using Forge.Data;
using Forge.Tests.Shared;

namespace Forge.DeepLearning.Tests;

/// <summary>A few PlantVillage images per class from the fixed split, decoded small, for the transfer-learning tests.</summary>
internal static class PlantVillageSample
{
    public static (RgbImageSet Train, RgbImageSet Test) Load(int trainPerClass, int testPerClass, int storeSize = 73)
    {
        var folder = ImageFolder.Open(SharedData.Dir("plantvillage-subset"));
        var train = folder.Split("train").GroupBy(e => e.Label).SelectMany(g => g.Take(trainPerClass)).ToArray();
        var test = folder.Split("test").GroupBy(e => e.Label).SelectMany(g => g.Take(testPerClass)).ToArray();
        return (RgbImageSet.Decode(train, folder.ClassNames, storeSize).Images, RgbImageSet.Decode(test, folder.ClassNames, storeSize).Images);
    }
}
