namespace Forge.DeepLearning;

/// <summary>
/// The calendar of an hour, computed from its timestamp alone, so that a forecast can read the calendar of an hour that
/// has no row yet (the hour being forecast). Holidays are the US federal holidays as observed (a Saturday holiday on the
/// Friday before, a Sunday one on the Monday after) plus Washington D.C.'s Emancipation Day (16 April, observed the same
/// way): on 2011–2012 this reproduces the <c>holiday</c> column of the bike-sharing data on all 731 days, and
/// <c>workingday</c> is Monday to Friday and not a holiday, as that column is.
/// </summary>
public static class BikeCalendar
{
    /// <summary>Names of the calendar features, in the order <see cref="Features"/> writes them.</summary>
    public static IReadOnlyList<string> FeatureNames { get; } =
        ["hour_sin", "hour_cos", "weekday_sin", "weekday_cos", "year_sin", "year_cos", "holiday", "workingday"];

    /// <summary>Whether <paramref name="day"/> is a holiday by the rule above.</summary>
    public static bool IsHoliday(DateOnly day)
    {
        // A holiday on 1 January of the next year may be observed on 31 December.
        return IsObservedIn(day, day.Year) || IsObservedIn(day, day.Year + 1);
    }

    /// <summary>Monday to Friday and not a holiday.</summary>
    public static bool IsWorkingDay(DateOnly day) => day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && !IsHoliday(day);

    /// <summary>Writes the calendar features of <paramref name="hour"/> (see <see cref="FeatureNames"/>) into <paramref name="into"/>.</summary>
    public static void Features(DateTime hour, Span<float> into)
    {
        var day = DateOnly.FromDateTime(hour);
        var h = 2 * Math.PI * hour.Hour / 24;
        var w = 2 * Math.PI * (int)hour.DayOfWeek / 7;
        var y = 2 * Math.PI * (hour.DayOfYear - 1) / 365.25;
        into[0] = (float)Math.Sin(h);
        into[1] = (float)Math.Cos(h);
        into[2] = (float)Math.Sin(w);
        into[3] = (float)Math.Cos(w);
        into[4] = (float)Math.Sin(y);
        into[5] = (float)Math.Cos(y);
        into[6] = IsHoliday(day) ? 1 : 0;
        into[7] = IsWorkingDay(day) ? 1 : 0;
    }

    private static bool IsObservedIn(DateOnly day, int year)
    {
        foreach (var fixedDay in (ReadOnlySpan<DateOnly>)[new DateOnly(year, 1, 1), new DateOnly(year, 4, 16), new DateOnly(year, 7, 4), new DateOnly(year, 11, 11), new DateOnly(year, 12, 25)])
        {
            if (Observed(fixedDay) == day) return true;
        }
        if (day.Year != year) return false;
        return day == Nth(year, 1, DayOfWeek.Monday, 3) // Martin Luther King Jr. Day
            || day == Nth(year, 2, DayOfWeek.Monday, 3) // Washington's Birthday
            || day == Last(year, 5, DayOfWeek.Monday) // Memorial Day
            || day == Nth(year, 9, DayOfWeek.Monday, 1) // Labor Day
            || day == Nth(year, 10, DayOfWeek.Monday, 2) // Columbus Day
            || day == Nth(year, 11, DayOfWeek.Thursday, 4); // Thanksgiving
    }

    private static DateOnly Observed(DateOnly day) => day.DayOfWeek switch
    {
        DayOfWeek.Saturday => day.AddDays(-1),
        DayOfWeek.Sunday => day.AddDays(1),
        _ => day,
    };

    private static DateOnly Nth(int year, int month, DayOfWeek weekday, int n)
    {
        var first = new DateOnly(year, month, 1);
        var offset = ((int)weekday - (int)first.DayOfWeek + 7) % 7;
        return first.AddDays(offset + (7 * (n - 1)));
    }

    private static DateOnly Last(int year, int month, DayOfWeek weekday)
    {
        var last = new DateOnly(year, month, DateTime.DaysInMonth(year, month));
        return last.AddDays(-(((int)last.DayOfWeek - (int)weekday + 7) % 7));
    }
}
