using Forge.Core;

namespace Forge.Data;

/// <summary>One file of a dataset: its name and checksum when decompressed, and where to download it (gzip or raw, told apart by content).</summary>
public sealed record DatasetFile(string FileName, string Sha256, long Size, IReadOnlyList<string> Urls)
{
    /// <summary>The split this file belongs to ("train", "test"), or null when the dataset has no split files.</summary>
    public string? Split { get; init; }
}

/// <summary>What a dataset holds, which decides the trainer (and the verb) that can use it.</summary>
public enum DatasetKind
{
    /// <summary>Small grayscale images in IDX files, MNIST's format: <c>forge train</c>.</summary>
    IdxImages,

    /// <summary>Photos in class folders: <c>forge finetune</c>.</summary>
    ImageFolder,

    /// <summary>Labelled texts: <c>forge train</c>'s text branch.</summary>
    Text,

    /// <summary>A table of numeric and categorical columns: <c>forge train</c>'s tabular branch.</summary>
    Tabular,
}

/// <summary>A dataset Forge knows by name: where it lives, its licence and citation, its files and class names.</summary>
public sealed record DatasetInfo(
    string Name,
    string Folder,
    string Description,
    string License,
    string Citation,
    IReadOnlyList<DatasetFile> Files,
    IReadOnlyList<string> SystemLocations,
    IReadOnlyList<string> ClassNames)
{
    /// <summary>What the dataset holds; every catalog entry sets it.</summary>
    public DatasetKind Kind { get; init; }

    /// <summary>Where a person can get the data by hand.</summary>
    public string? Homepage { get; init; }

    /// <summary>A folder holding every file of one split is good enough when no folder holds them all.</summary>
    public bool AcceptsSingleSplit { get; init; }

    /// <summary>A hint on how to install the full dataset, used in "not found" errors.</summary>
    public string? InstallHint { get; init; }

    /// <summary>The catalog entry for <paramref name="fileName"/>, or null.</summary>
    public DatasetFile? FindFile(string fileName) =>
        Files.FirstOrDefault(f => string.Equals(f.FileName, fileName, StringComparison.Ordinal));
}

/// <summary>The datasets Forge knows by name.</summary>
public static class DatasetCatalog
{
    private const string MnistMirrorS3 = "https://ossci-datasets.s3.amazonaws.com/mnist/";
    private const string MnistMirrorGcs = "https://storage.googleapis.com/cvdf-datasets/mnist/";
    private const string FashionMnistUrl = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

    /// <summary>Every catalog entry, in the order <c>forge datasets list</c> shows them.</summary>
    public static IReadOnlyList<DatasetInfo> All { get; } =
    [
        new DatasetInfo(
            "mnist",
            "mnist",
            "MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grayscale, 10 classes",
            "CC BY-SA 3.0",
            "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. \"Gradient-based learning applied to document recognition.\" Proc. IEEE 86(11):2278-2324, 1998.",
            [
                Mnist("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47_040_016, "train"),
                Mnist("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60_008, "train"),
                Mnist("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7_840_016, "test"),
                Mnist("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10_008, "test"),
            ],
            [],
            ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"])
        {
            Kind = DatasetKind.IdxImages,
            Homepage = "http://yann.lecun.com/exdb/mnist/",
        },
        // The shared data folder holds only the test split (the train images exceed its per-file limit), so a folder
        // with one complete split is accepted; the Debian package has all four files and is preferred when installed.
        // Checksums of the train files were computed from Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1,
        // whose decompressed content matches the upstream raw MD5s.
        new DatasetInfo(
            "fashion-mnist",
            "fashion-mnist-test",
            "Fashion-MNIST clothing images: 60,000 training and 10,000 test images, 28x28 grayscale, 10 classes",
            "MIT",
            "H. Xiao, K. Rasul, R. Vollgraf. \"Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms.\" arXiv:1708.07747, 2017.",
            [
                Fashion("train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47_040_016, "train"),
                Fashion("train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60_008, "train"),
                Fashion("t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7_840_016, "test"),
                Fashion("t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10_008, "test"),
            ],
            ["/usr/share/datasets/fashion-mnist"],
            ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])
        {
            Kind = DatasetKind.IdxImages,
            Homepage = "https://github.com/zalandoresearch/fashion-mnist",
            AcceptsSingleSplit = true,
            InstallHint = "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist puts all four files in /usr/share/datasets/fashion-mnist)",
        },
        new DatasetInfo(
            "plantvillage",
            "plantvillage-subset",
            "PlantVillage leaf photos, subset: 8 classes x 150 JPEG images (256x256 RGB), fixed 960/240 train/test split in manifest.csv",
            "CC BY-SA 3.0",
            "D. P. Hughes, M. Salathé. \"An open access repository of images on plant health to enable the development of mobile disease diagnostics through machine learning and crowdsourcing.\" arXiv:1511.08060, 2015.",
            [
                Local("manifest.csv", "4ed0258be67faff9b4d53306b8f01339bf94672760dba62a5462fbf672d440aa", 336_905),
                Local("SHA256SUMS", "c035dded8d6c744c31e369afc6192d5030c33fca665a3892400028832dd50033", 181_088),
            ],
            [],
            [
                "Pepper_bell___Bacterial_spot", "Pepper_bell___healthy", "Potato___Early_blight", "Potato___Late_blight",
                "Potato___healthy", "Tomato___Early_blight", "Tomato___Late_blight", "Tomato___healthy",
            ])
        {
            Kind = DatasetKind.ImageFolder,
            Homepage = "https://github.com/spMohanty/PlantVillage-Dataset",
        },
        new DatasetInfo(
            "sentiment",
            "sentiment-labelled-sentences",
            "UCI Sentiment Labelled Sentences: 3,000 review sentences (Amazon, IMDb, Yelp), binary sentiment, tab-separated",
            "CC BY 4.0",
            "D. Kotzias, M. Denil, N. de Freitas, P. Smyth. \"From Group to Individual Labels using Deep Features.\" KDD 2015.",
            [
                Local("amazon_cells_labelled.txt", "47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3", 58_226),
                Local("imdb_labelled.txt", "aef2e49e3da25714d61175e3a6e68eeef74a20a2f914318dc3be9947ea86512d", 85_285),
                Local("yelp_labelled.txt", "c76468b7b5c6e56a0804d728345c5f84aa2142ddb214420f61cc9cfd4c00d2ea", 61_320),
                Local("readme.txt", "736c26aa54e3614459e50314ece0698051f0923d108ed53938dcb1aa0483bfd4", 1_070),
            ],
            [],
            ["negative", "positive"])
        {
            Kind = DatasetKind.Text,
            Homepage = "https://archive.ics.uci.edu/dataset/331/sentiment+labelled+sentences",
        },
        new DatasetInfo(
            "airline-tweets",
            "twitter-airline-sentiment",
            "Twitter US Airline Sentiment: 14,640 timestamped customer tweets, 3 classes (non-commercial licence)",
            "CC BY-NC-SA 4.0",
            "CrowdFlower (Figure Eight), \"Twitter US Airline Sentiment\", Data for Everyone library, 2015.",
            [Local("Tweets.csv", "31aa9f9f90d9da372d1522b463cd0d43128d274f553dcf10b15fb17cdd71df10", 3_421_420)],
            [],
            ["negative", "neutral", "positive"])
        {
            Kind = DatasetKind.Text,
            Homepage = "https://www.kaggle.com/datasets/crowdflower/twitter-airline-sentiment",
        },
        new DatasetInfo(
            "bike-sharing",
            "bike-sharing",
            "UCI Bike Sharing, Washington D.C. 2011-2012: 17,379 hourly and 731 daily rows, regression target cnt",
            "CC BY 4.0",
            "H. Fanaee-T, J. Gama. \"Event labeling combining ensemble detectors and background knowledge.\" Progress in Artificial Intelligence (2013), pp. 1-15, Springer. doi:10.1007/s13748-013-0040-3",
            [
                Local("hour.csv", "b03a2d02e8c10f435c43c7f0b358b7e34a003afea53dbc37f0183f2763295133", 1_139_356),
                Local("day.csv", "537e98e2c8b8f53e3094d953f847788b1dc224764a4a1e538b3e1ec4e30dac8a", 56_837),
                Local("Readme.txt", "6f5ca84b8e9495c6c1f4ce48c31a99f96bba9d952c7f694cbbce3cd82332d471", 5_496),
            ],
            [],
            [])
        {
            Kind = DatasetKind.Tabular,
            Homepage = "https://archive.ics.uci.edu/dataset/275/bike+sharing+dataset",
        },
        new DatasetInfo(
            "adult",
            "adult-census-income",
            "UCI Adult / Census Income: 32,561 rows, 14 features (6 numeric, 8 categorical), binary income target",
            "CC BY 4.0",
            "R. Kohavi. \"Scaling Up the Accuracy of Naive-Bayes Classifiers: a Decision-Tree Hybrid.\" KDD 1996.",
            [
                // UCI serves these two files uncompressed; their checksums match the published UCI MD5s.
                new DatasetFile("adult.data", "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d", 3_974_305,
                    ["https://archive.ics.uci.edu/ml/machine-learning-databases/adult/adult.data"]),
                new DatasetFile("adult.names", "c248284c0b5de30c9e1958d6cdd168a34a654758b620e68f46aefa83fc0a576a", 5_229,
                    ["https://archive.ics.uci.edu/ml/machine-learning-databases/adult/adult.names"]),
            ],
            [],
            ["<=50K", ">50K"])
        {
            Kind = DatasetKind.Tabular,
            Homepage = "https://archive.ics.uci.edu/dataset/2/adult",
        },
    ];

    /// <summary>The entry named <paramref name="name"/> (case-insensitive); an unknown name gets a "did you mean".</summary>
    public static DatasetInfo Get(string name) => Get(name, All);

    internal static DatasetInfo Get(string name, IReadOnlyList<DatasetInfo> catalog)
    {
        ArgumentNullException.ThrowIfNull(name);
        return catalog.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new NotFoundException("dataset", name, catalog.Select(d => d.Name));
    }

    private static DatasetFile Mnist(string fileName, string sha256, long size, string split) =>
        new(fileName, sha256, size, [MnistMirrorS3 + fileName + ".gz", MnistMirrorGcs + fileName + ".gz"]) { Split = split };

    private static DatasetFile Fashion(string fileName, string sha256, long size, string split) =>
        new(fileName, sha256, size, [FashionMnistUrl + fileName + ".gz"]) { Split = split };

    // These datasets are published as zip archives or behind a login, so there is no file Forge can fetch directly.
    private static DatasetFile Local(string fileName, string sha256, long size) => new(fileName, sha256, size, []);
}
