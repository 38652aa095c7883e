using Forge.Core;

namespace Forge.Tabular;

/// <summary>How Forge reads and splits the tabular catalog datasets.</summary>
public static class TabularRecipes
{
    /// <summary>UCI Adult's columns, in file order (adult.data has no header line).</summary>
    public static IReadOnlyList<string> AdultColumns { get; } =
    [
        "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation", "relationship", "race", "sex",
        "capital-gain", "capital-loss", "hours-per-week", "native-country", "income",
    ];

    /// <summary>The catalog datasets a tabular recipe exists for.</summary>
    public static IReadOnlyList<string> Datasets { get; } = ["adult", "bike-sharing"];

    /// <summary>The file of a catalog dataset that is trained on.</summary>
    public static string DataFile(string dataset) => dataset switch
    {
        "adult" => "adult.data",
        "bike-sharing" => "hour.csv",
        _ => throw new NotFoundException("tabular dataset", dataset, Datasets),
    };

    /// <summary>
    /// A request for a catalog dataset with its reading and split rules: Adult is a seeded stratified 80/20 split of
    /// adult.data (binary income); bike sharing predicts the hourly count <c>cnt</c> with the last 20% of hours as test,
    /// without <c>casual</c> and <c>registered</c> (they sum to the label), <c>instant</c> (a row number, i.e. time itself,
    /// which trees cannot extrapolate past the training hours) and <c>dteday</c> (a date, all unseen in the test hours;
    /// its season, year, month, weekday and holiday are columns already).
    /// </summary>
    public static TabularTrainingRequest For(string dataset, string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return dataset switch
        {
            "adult" => new TabularTrainingRequest
            {
                Dataset = "adult",
                OutputDirectory = outputDirectory,
                Csv = new TabularCsvOptions { ColumnNames = AdultColumns, Label = "income" },
                Split = new TabularSplit(SplitMethod.Stratified, 0.2),
                Options = new TabularOptions { Task = TabularTask.Binary },
            },
            "bike-sharing" => new TabularTrainingRequest
            {
                Dataset = "bike-sharing",
                OutputDirectory = outputDirectory,
                Csv = new TabularCsvOptions { Label = "cnt", Exclude = ["instant", "dteday", "casual", "registered"] },
                Split = new TabularSplit(SplitMethod.Chronological, 0.2),
                Options = new TabularOptions { Task = TabularTask.Regression },
            },
            _ => throw new NotFoundException("tabular dataset", dataset, Datasets),
        };
    }
}
