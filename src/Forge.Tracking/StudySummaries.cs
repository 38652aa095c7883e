using System.Globalization;
using Forge.Tuning;

using static Forge.Tracking.SqlCommands;

namespace Forge.Tracking;

/// <summary>One study at a glance: how many trials it has in each state and its best value, counted in SQL.</summary>
/// <param name="Name">The study's name.</param>
/// <param name="Direction">Whether lower or higher values are better.</param>
/// <param name="Created">When the study was created.</param>
/// <param name="Trials">Every trial.</param>
/// <param name="Complete">Completed trials.</param>
/// <param name="Running">Trials running now.</param>
/// <param name="Best">The best completed value, if any.</param>
public sealed record StudySummary(string Name, StudyDirection Direction, DateTimeOffset Created, long Trials, long Complete, long Running, double? Best);

/// <summary>Lists the studies of a <see cref="SqlStudyStorage"/> without reading their trials.</summary>
public static class StudySummaries
{
    /// <summary>Every study, by name.</summary>
    public static IReadOnlyList<StudySummary> List(SqlStudyStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        const string Sql = """
            SELECT s.name, s.direction, s.created_at,
                (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.study_id),
                (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.study_id AND t.state = @complete),
                (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.study_id AND t.state = @running),
                (SELECT MIN(t.value) FROM trials t WHERE t.study_id = s.study_id AND t.state = @complete),
                (SELECT MAX(t.value) FROM trials t WHERE t.study_id = s.study_id AND t.state = @complete)
            FROM studies s ORDER BY s.name
            """;
        return storage.Dialect.Read(c => Query(c, null, Sql, r =>
        {
            var direction = string.Equals(r.GetString(1), TuningText.Of(StudyDirection.Maximize), StringComparison.Ordinal) ? StudyDirection.Maximize : StudyDirection.Minimize;
            var best = direction == StudyDirection.Maximize ? r.GetValue(7) : r.GetValue(6);
            return new StudySummary(r.GetString(0), direction, DateTimeOffset.FromUnixTimeMilliseconds(Int(r, 2)), Int(r, 3), Int(r, 4), Int(r, 5),
                best is DBNull ? null : Convert.ToDouble(best, CultureInfo.InvariantCulture));
        }, ("complete", TuningText.Of(TrialState.Complete)), ("running", TuningText.Of(TrialState.Running))), "study");
    }
}
