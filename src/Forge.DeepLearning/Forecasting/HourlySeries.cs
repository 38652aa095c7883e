using System.Globalization;
using Forge.Core;
using Forge.Data;

namespace Forge.DeepLearning;

/// <summary>One hour as a file gives it: its timestamp, the count and the weather (temp, atemp, hum, windspeed normalised as in bike sharing's hour.csv).</summary>
/// <param name="Hour">The hour's start (date + hour of day).</param>
/// <param name="Count">The rentals in that hour (<c>cnt</c>).</param>
/// <param name="Weathersit">Weather situation, 1 (clear) to 4 (heavy rain, snow).</param>
/// <param name="Temp">Temperature / 41 °C.</param>
/// <param name="Atemp">Felt temperature / 50 °C.</param>
/// <param name="Hum">Humidity / 100.</param>
/// <param name="Windspeed">Wind speed / 67.</param>
public sealed record HourlyObservation(DateTime Hour, double Count, double Weathersit, double Temp, double Atemp, double Hum, double Windspeed)
{
    /// <summary>The hour was missing and its values were filled by the fill rule before it was sent (a served window marks such hours).</summary>
    public bool Filled { get; init; }
}

/// <summary>A run of consecutive calendar hours that the file lacks.</summary>
/// <param name="Start">The first missing hour.</param>
/// <param name="Hours">How many hours in a row are missing.</param>
public sealed record HourGap(DateTime Start, int Hours);

/// <summary>
/// An hourly series reindexed to every calendar hour from its first row to its last. A missing hour is filled: its count
/// with the (possibly filled) count of the same hour one week earlier, or, in the first week, with the hour before's; its
/// weather carried forward from the hour before; and <see cref="Filled"/> marks it. Its calendar is computed from the
/// timestamp (<see cref="BikeCalendar"/>). Filled counts are never a target: training leaves them out of the loss and
/// evaluation out of the metrics.
/// </summary>
public sealed class HourlySeries
{
    /// <summary>The columns a file of hours must have (others are ignored; <c>casual</c> and <c>registered</c> are never read).</summary>
    public static IReadOnlyList<string> Columns { get; } = ["dteday", "hr", "cnt", "weathersit", "temp", "atemp", "hum", "windspeed"];

    /// <summary>Hours back the fill rule looks for a missing count (one week).</summary>
    public const int FillLag = 168;

    /// <summary>The fill rule, as bundles and docs state it.</summary>
    public const string FillRule = "a missing hour's cnt is the cnt of the same hour one week earlier (itself filled if that hour was missing; the hour before's in the series' first week), its weather (weathersit, temp, atemp, hum, windspeed) is the hour before's, and 'filled' is 1; a filled cnt is never a target";

    private HourlySeries(DateTime start, int length, IReadOnlyList<DateTime> rowHours)
    {
        Start = start;
        Count = new double[length];
        Filled = new bool[length];
        Weathersit = new double[length];
        Temp = new double[length];
        Atemp = new double[length];
        Hum = new double[length];
        Windspeed = new double[length];
        RowHours = rowHours;
    }

    /// <summary>The first hour.</summary>
    public DateTime Start { get; }

    /// <summary>Calendar hours in the series.</summary>
    public int Length => Count.Length;

    /// <summary>The count of each hour (filled where <see cref="Filled"/>).</summary>
    public double[] Count { get; }

    /// <summary>Whether each hour was missing and filled.</summary>
    public bool[] Filled { get; }

    /// <summary>Weather situation of each hour.</summary>
    public double[] Weathersit { get; }

    /// <summary>Normalised temperature of each hour.</summary>
    public double[] Temp { get; }

    /// <summary>Normalised felt temperature of each hour.</summary>
    public double[] Atemp { get; }

    /// <summary>Normalised humidity of each hour.</summary>
    public double[] Hum { get; }

    /// <summary>Normalised wind speed of each hour.</summary>
    public double[] Windspeed { get; }

    /// <summary>The hours the input had, in its order (the chronological split counts these rows).</summary>
    public IReadOnlyList<DateTime> RowHours { get; }

    /// <summary>Hours filled.</summary>
    public int FilledCount => Filled.Count(f => f);

    /// <summary>The runs of missing hours, oldest first.</summary>
    public IReadOnlyList<HourGap> Gaps()
    {
        var gaps = new List<HourGap>();
        for (var i = 0; i < Length; i++)
        {
            if (!Filled[i]) continue;
            var start = i;
            while (i + 1 < Length && Filled[i + 1]) i++;
            gaps.Add(new HourGap(HourAt(start), i - start + 1));
        }
        return gaps;
    }

    /// <summary>The hour at series index <paramref name="index"/> as the series holds it (filled by the fill rule when it was missing).</summary>
    public HourlyObservation At(int index) =>
        new(HourAt(index), Count[index], Weathersit[index], Temp[index], Atemp[index], Hum[index], Windspeed[index]) { Filled = Filled[index] };

    /// <summary>The timestamp of series index <paramref name="index"/>.</summary>
    public DateTime HourAt(int index) => Start.AddHours(index);

    /// <summary>The series index of <paramref name="hour"/> (it may fall outside the series).</summary>
    public int IndexOf(DateTime hour) => (int)Math.Round((hour - Start).TotalHours);

    /// <summary>Reindexes hours given oldest first (each strictly after the one before, on the hour) and fills the missing ones.</summary>
    /// <param name="rows">The hours, oldest first.</param>
    /// <param name="source">The file or request they came from, for error messages.</param>
    public static HourlySeries Build(IReadOnlyList<HourlyObservation> rows, string source)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(source);
        if (rows.Count == 0) throw new DataFormatException(source, "no hours");
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            if (row.Hour.Minute != 0 || row.Hour.Second != 0 || row.Hour.Millisecond != 0)
                throw new DataFormatException(source, $"row {r + 1} ({Format(row.Hour)}): not on the hour");
            if (r > 0 && row.Hour <= rows[r - 1].Hour)
                throw new DataFormatException(source, $"row {r + 1} ({Format(row.Hour)}) is not after row {r} ({Format(rows[r - 1].Hour)}); hours must be in time order, each once");
            foreach (var (name, value) in (ReadOnlySpan<(string, double)>)[("cnt", row.Count), ("weathersit", row.Weathersit), ("temp", row.Temp), ("atemp", row.Atemp), ("hum", row.Hum), ("windspeed", row.Windspeed)])
            {
                if (!double.IsFinite(value)) throw new DataFormatException(source, $"row {r + 1} ({Format(row.Hour)}): {name} is {value.ToString(CultureInfo.InvariantCulture)}, not a finite number");
            }
        }
        var start = rows[0].Hour;
        var length = (int)Math.Round((rows[^1].Hour - start).TotalHours) + 1;
        var series = new HourlySeries(start, length, [.. rows.Select(r => r.Hour)]);
        var present = new bool[length];
        foreach (var row in rows)
        {
            var i = series.IndexOf(row.Hour);
            present[i] = true;
            series.Filled[i] = row.Filled;
            series.Count[i] = row.Count;
            series.Weathersit[i] = row.Weathersit;
            series.Temp[i] = row.Temp;
            series.Atemp[i] = row.Atemp;
            series.Hum[i] = row.Hum;
            series.Windspeed[i] = row.Windspeed;
        }
        // In time order, so a week-earlier hour that was itself missing is already filled when it is read.
        for (var i = 1; i < length; i++)
        {
            if (present[i]) continue;
            series.Filled[i] = true;
            series.Count[i] = i >= FillLag ? series.Count[i - FillLag] : series.Count[i - 1];
            series.Weathersit[i] = series.Weathersit[i - 1];
            series.Temp[i] = series.Temp[i - 1];
            series.Atemp[i] = series.Atemp[i - 1];
            series.Hum[i] = series.Hum[i - 1];
            series.Windspeed[i] = series.Windspeed[i - 1];
        }
        return series;
    }

    /// <summary>Reads a CSV of hours with at least the <see cref="Columns"/> (as bike sharing's hour.csv has them) and reindexes it.</summary>
    public static HourlySeries ReadCsv(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new DataFormatException(path, "no such file");
        var records = Csv.ReadFile(path);
        if (records.Count < 2) throw new DataFormatException(path, $"no hours (expected a header with {string.Join(", ", Columns)} and one line per hour)");
        var header = records[0];
        var at = Csv.Columns(header, path, [.. Columns]);
        var rows = new HourlyObservation[records.Count - 1];
        for (var r = 1; r < records.Count; r++)
        {
            var record = records[r];
            if (record.Length != header.Length) throw new DataFormatException(path, $"line {r + 1}: {record.Length} fields, the header has {header.Length}");
            double Number(int column)
            {
                var text = record[at[column]];
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
                    ? v
                    : throw new DataFormatException(path, $"line {r + 1}: {Columns[column]} '{text}' is not a number");
            }
            if (!DateOnly.TryParseExact(record[at[0]], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                throw new DataFormatException(path, $"line {r + 1}: dteday '{record[at[0]]}' is not a date (yyyy-MM-dd)");
            var hr = Number(1);
            if (hr is < 0 or > 23 || hr != Math.Floor(hr)) throw new DataFormatException(path, $"line {r + 1}: hr '{record[at[1]]}' is not an hour 0-23");
            rows[r - 1] = new HourlyObservation(day.ToDateTime(TimeOnly.MinValue).AddHours(hr), Number(2), Number(3), Number(4), Number(5), Number(6), Number(7));
        }
        return Build(rows, path);
    }

    /// <summary>An hour as messages and files write it: <c>2012-10-29 01:00</c>.</summary>
    public static string Format(DateTime hour) => hour.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
}
