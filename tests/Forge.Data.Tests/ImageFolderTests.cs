using Forge.Core;
using Forge.Data;
using SkiaSharp;

namespace Forge.Data.Tests;

public class ImageFolderTests
{
    [SharedDataFact("plantvillage-subset")]
    public void The_plantvillage_manifest_gives_eight_classes_and_a_fixed_960_240_split()
    {
        var folder = ImageFolder.Open(SharedData.Dir("plantvillage-subset"));
        Assert.Equal(8, folder.ClassNames.Count);
        Assert.Equal("Pepper_bell___Bacterial_spot", folder.ClassNames[0]);
        Assert.Equal(960, folder.Split("train").Count);
        Assert.Equal(240, folder.Split("test").Count);
        Assert.All(folder.Split("test").GroupBy(e => e.Label), g => Assert.Equal(30, g.Count()));
        Assert.All(folder.Entries, e => Assert.True(File.Exists(e.Path), e.Path));
    }

    [SharedDataFact("plantvillage-subset")]
    public void Decoded_images_are_square_rgb_at_the_requested_size()
    {
        var folder = ImageFolder.Open(SharedData.Dir("plantvillage-subset"));
        var entries = folder.Split("test").Take(3).ToArray();
        var (images, skipped) = RgbImageSet.Decode(entries, folder.ClassNames, 64);
        Assert.Empty(skipped);
        Assert.Equal(3, images.Count);
        Assert.Equal(3 * 64 * 64 * 3, images.Pixels.Length);
        // Leaves on a lab background: the picture is neither blank nor saturated.
        var mean = images.Pixels.Average(b => (double)b);
        Assert.InRange(mean, 40, 220);
    }

    [Fact]
    public void A_folder_per_class_without_a_manifest_is_read_and_has_no_split()
    {
        using var dir = new TempDir();
        WriteImage(dir.Combine("cats", "a.png"), SKColors.Red);
        WriteImage(dir.Combine("cats", "b.jpg"), SKColors.Red);
        WriteImage(dir.Combine("dogs", "c.png"), SKColors.Blue);
        File.WriteAllText(dir.Combine("dogs", "notes.txt"), "not an image");
        var folder = ImageFolder.Open(dir.Path);
        Assert.Equal(["cats", "dogs"], folder.ClassNames);
        Assert.Equal(3, folder.Entries.Count);
        var e = Assert.Throws<DataFormatException>(() => folder.Split("test"));
        Assert.Contains("split", e.Message, StringComparison.Ordinal);
        var (images, _) = RgbImageSet.Decode(folder.Entries, folder.ClassNames, 16);
        Assert.Equal(255, images.Pixels[0]); // red
        Assert.Equal(0, images.Pixels[2]);
        Assert.Equal(255, images.Pixels[(2 * 16 * 16 * 3) + 2]); // blue
    }

    [Fact]
    public void A_corrupt_image_fails_with_its_path_or_is_skipped_and_reported()
    {
        using var dir = new TempDir();
        WriteImage(dir.Combine("a", "good.png"), SKColors.Green);
        WriteImage(dir.Combine("b", "good.png"), SKColors.Green);
        var truncated = File.ReadAllBytes(dir.Combine("a", "good.png"));
        Directory.CreateDirectory(dir.Combine("b"));
        File.WriteAllBytes(dir.Combine("b", "broken.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
        File.WriteAllBytes(dir.Combine("a", "half.png"), truncated[..(truncated.Length / 2)]);
        var folder = ImageFolder.Open(dir.Path);
        var e = Assert.Throws<DataFormatException>(() => RgbImageSet.Decode(folder.Entries, folder.ClassNames, 16));
        Assert.True(e.Message.Contains("half.png", StringComparison.Ordinal) || e.Message.Contains("broken.jpg", StringComparison.Ordinal), e.Message);
        Assert.Contains("--skip-bad-images", e.Message, StringComparison.Ordinal);
        var (images, skipped) = RgbImageSet.Decode(folder.Entries, folder.ClassNames, 16, BadImagePolicy.Skip);
        Assert.Equal(2, images.Count);
        Assert.Equal(["broken.jpg", "half.png"], skipped.Select(s => Path.GetFileName(s.Path)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_manifest_path_that_leaves_the_folder_is_refused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("manifest.csv"), "path,label,split\n../../etc/passwd,a,train\nx.png,b,test\n");
        var e = Assert.Throws<DataFormatException>(() => ImageFolder.Open(dir.Path));
        Assert.Contains("leaves the dataset folder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_without_a_label_column_names_the_column()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("manifest.csv"), "path,split\nx.png,train\n");
        var e = Assert.Throws<DataFormatException>(() => ImageFolder.Open(dir.Path));
        Assert.Contains("label", e.Message, StringComparison.Ordinal);
    }

    private static void WriteImage(string path, SKColor color)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(20, 24);
        bitmap.Erase(color);
        using var data = bitmap.Encode(path.EndsWith(".jpg", StringComparison.Ordinal) ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, 95);
        File.WriteAllBytes(path, data.ToArray());
    }
}
