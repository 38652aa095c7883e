using Forge.Core;

namespace Forge.Data;

/// <summary>Loads MNIST-layout datasets (MNIST, Fashion-MNIST): one images IDX and one labels IDX file per split.</summary>
public static class MnistFormat
{
    /// <summary>The class names of MNIST: the digits "0" to "9".</summary>
    public static IReadOnlyList<string> DigitClassNames { get; } = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>The split names <see cref="Load(string, string)"/> accepts.</summary>
    public static IReadOnlyList<string> Splits { get; } = ["train", "test"];

    /// <summary>Loads split "train" or "test" from a folder, with the digits "0".."9" as class names.</summary>
    public static ImageSet Load(string datasetDirectory, string split) => Load(datasetDirectory, split, DigitClassNames);

    /// <summary>Loads split "train" or "test" from a folder, naming the classes with <paramref name="classNames"/>.</summary>
    public static ImageSet Load(string datasetDirectory, string split, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(datasetDirectory);
        ArgumentNullException.ThrowIfNull(classNames);
        var (imagesName, labelsName) = FileNames(split);
        var imagesPath = DatasetFiles.Locate(datasetDirectory, imagesName);
        var labelsPath = DatasetFiles.Locate(datasetDirectory, labelsName);
        if (imagesPath is null || labelsPath is null)
        {
            var missing = string.Join(" and ", new[] { (imagesName, imagesPath), (labelsName, labelsPath) }.Where(f => f.Item2 is null).Select(f => f.Item1 + "[.gz]"));
            var where = Directory.Exists(datasetDirectory) ? datasetDirectory : datasetDirectory + " (no such folder)";
            var hint = InstallHintFor(datasetDirectory) is { } h ? "; " + h : "";
            throw new ForgeException($"{split} split not found in {where}: missing {missing}{hint}");
        }
        return Read(imagesPath, labelsPath, classNames);
    }

    /// <summary>Loads split "train" or "test" of a resolved dataset, with the catalog's class names; a missing split says how to get it.</summary>
    public static ImageSet Load(ResolvedDataset dataset, string split)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var (imagesName, labelsName) = FileNames(split);
        var info = dataset.Info;
        if (info.FindFile(imagesName) is null || info.FindFile(labelsName) is null)
            throw new UsageException($"dataset '{info.Name}' is not an MNIST-layout image dataset");
        var imagesPath = dataset.FindFile(imagesName);
        var labelsPath = dataset.FindFile(labelsName);
        if (imagesPath is null || labelsPath is null)
        {
            var how = info.InstallHint is null ? "" : info.InstallHint + ", or ";
            throw new ForgeException(
                $"{info.Name} {split} split not found in {dataset.Directory}; {how}put {imagesName}.gz and {labelsName}.gz in a folder and pass it with --data-dir or {DatasetResolver.DataDirVariable}");
        }
        return Read(imagesPath, labelsPath, info.ClassNames);
    }

    // Callers that pass a folder rather than a resolved dataset still deserve the catalog's advice (the shared
    // fashion-mnist folder has only the test split).
    private static string? InstallHintFor(string directory)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        var folderName = Path.GetFileName(full);
        return DatasetCatalog.All.FirstOrDefault(d => d.InstallHint is not null
            && (folderName == d.Folder || folderName == d.Name || d.SystemLocations.Contains(full)))?.InstallHint;
    }

    private static (string Images, string Labels) FileNames(string split)
    {
        ArgumentNullException.ThrowIfNull(split);
        var prefix = split.ToUpperInvariant() switch
        {
            "TRAIN" => "train",
            "TEST" => "t10k",
            _ => throw new NotFoundException("split", split, Splits),
        };
        return ($"{prefix}-images-idx3-ubyte", $"{prefix}-labels-idx1-ubyte");
    }

    private static ImageSet Read(string imagesPath, string labelsPath, IReadOnlyList<string> classNames)
    {
        var images = IdxReader.Read(imagesPath);
        if (images.Dimensions.Length != 3)
            throw new DataFormatException(imagesPath, $"expected 3 dimensions (images x rows x columns), found {images.Dimensions.Length}");
        var labels = IdxReader.Read(labelsPath);
        if (labels.Dimensions.Length != 1)
            throw new DataFormatException(labelsPath, $"expected 1 dimension (one label per image), found {labels.Dimensions.Length}");
        if (images.Dimensions[0] != labels.Dimensions[0])
            throw new DataFormatException(imagesPath, $"holds {images.Dimensions[0]} images but {labelsPath} holds {labels.Dimensions[0]} labels");
        for (var i = 0; i < labels.Data.Length; i++)
        {
            if (labels.Data[i] >= classNames.Count)
                throw new DataFormatException(labelsPath, $"label {labels.Data[i]} at index {i} is out of range; expected 0 to {classNames.Count - 1}");
        }
        return new ImageSet(images.Data, labels.Data, images.Dimensions[1], images.Dimensions[2], classNames);
    }
}
