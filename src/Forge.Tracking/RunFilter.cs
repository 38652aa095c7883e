using System.Globalization;
using Forge.Core;

namespace Forge.Tracking;

/// <summary>What a filter or sort key refers to.</summary>
internal enum EntityKind
{
    Metric,
    Param,
    Tag,
    Attribute,
}

/// <summary>A metric, param, tag or run attribute named in a filter or sort.</summary>
/// <param name="Kind">Which table it lives in.</param>
/// <param name="Key">The metric/param/tag key, or the attribute's column.</param>
internal sealed record Entity(EntityKind Kind, string Key)
{
    /// <summary>True for attributes compared as numbers (times in milliseconds since 1970).</summary>
    public bool IsNumeric => Kind == EntityKind.Metric || (Kind == EntityKind.Attribute && Key is "start_time" or "end_time");
}

/// <summary>One comparison of a filter, e.g. <c>metrics.accuracy &gt; 0.9</c>.</summary>
/// <param name="Entity">The left side.</param>
/// <param name="Operator">The SQL operator: = &lt;&gt; &lt; &lt;= &gt; &gt;= LIKE ILIKE.</param>
/// <param name="Value">A double for numeric entities, else a string.</param>
internal sealed record FilterClause(Entity Entity, string Operator, object Value);

/// <summary>One sort key.</summary>
internal sealed record SortKey(Entity Entity, bool Descending);

/// <summary>
/// Parses the run filter language (clauses joined by AND) and sort keys. Errors are <see cref="UsageException"/>s that
/// quote the filter and give the column where it went wrong.
/// </summary>
internal sealed class RunFilter
{
    /// <summary>Attribute names users may write, mapped to the runs column they mean.</summary>
    private static readonly Dictionary<string, string> Attributes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["status"] = "status",
        ["name"] = "name",
        ["run_name"] = "name",
        ["run_id"] = "run_id",
        ["start_time"] = "start_time",
        ["end_time"] = "end_time",
        ["parent_run_id"] = "parent_run_id",
    };

    private static readonly string[] Prefixes = ["metrics", "params", "tags", "attributes"];

    private readonly string _text;
    private readonly string _what;
    private int _pos;

    private RunFilter(string text, string what)
    {
        _text = text;
        _what = what;
    }

    /// <summary>Parses a filter; null or blank gives no clauses.</summary>
    public static IReadOnlyList<FilterClause> ParseFilter(string? filter)
    {
        if (string.IsNullOrWhiteSpace(filter)) return [];
        var parser = new RunFilter(filter, "filter");
        var clauses = new List<FilterClause>();
        while (true)
        {
            clauses.Add(parser.ParseClause());
            parser.SkipSpace();
            if (parser.AtEnd) return clauses;
            var at = parser._pos;
            var word = parser.ReadWord();
            if (!string.Equals(word, "and", StringComparison.OrdinalIgnoreCase))
                throw parser.Error(at, string.Equals(word, "or", StringComparison.OrdinalIgnoreCase)
                    ? "OR is not supported; clauses can only be joined with AND"
                    : "expected AND between clauses");
        }
    }

    /// <summary>Parses comma-separated sort keys; null or blank gives the default, newest first.</summary>
    public static IReadOnlyList<SortKey> ParseOrderBy(string? orderBy)
    {
        if (string.IsNullOrWhiteSpace(orderBy)) return [new SortKey(new Entity(EntityKind.Attribute, "start_time"), true)];
        var parser = new RunFilter(orderBy, "sort");
        var keys = new List<SortKey>();
        while (true)
        {
            var entity = parser.ParseEntity();
            parser.SkipSpace();
            var descending = false;
            if (!parser.AtEnd && parser.Peek != ',')
            {
                var at = parser._pos;
                var word = parser.ReadWord();
                if (string.Equals(word, "desc", StringComparison.OrdinalIgnoreCase)) descending = true;
                else if (!string.Equals(word, "asc", StringComparison.OrdinalIgnoreCase)) throw parser.Error(at, "expected ASC, DESC or ','");
                parser.SkipSpace();
            }
            keys.Add(new SortKey(entity, descending));
            if (parser.AtEnd) return keys;
            if (parser.Peek != ',') throw parser.Error(parser._pos, "expected ','");
            parser._pos++;
        }
    }

    private bool AtEnd => _pos >= _text.Length;

    private char Peek => _text[_pos];

    private FilterClause ParseClause()
    {
        var entity = ParseEntity();
        SkipSpace();
        var opAt = _pos;
        var op = ReadOperator();
        SkipSpace();
        var valueAt = _pos;
        if (AtEnd) throw Error(valueAt, "expected a value after the operator");
        object value;
        if (Peek is '\'' or '"')
        {
            var text = ReadQuoted();
            if (entity.IsNumeric) throw Error(valueAt, $"{Describe(entity)} is compared with numbers; write the value without quotes");
            if (entity is { Kind: EntityKind.Attribute, Key: "status" })
            {
                if (!Enum.TryParse<RunStatus>(text, ignoreCase: true, out var status) || text.Any(char.IsAsciiDigit))
                    throw Error(valueAt, $"unknown status '{text}' (known: RUNNING, FINISHED, FAILED, KILLED)");
                text = status.ToString().ToUpperInvariant();
            }
            value = text;
        }
        else
        {
            var start = _pos;
            while (!AtEnd && (char.IsAsciiDigit(Peek) || Peek is '.' or '-' or '+' or 'e' or 'E')) _pos++;
            var token = _text[start.._pos];
            if (token.Length == 0 || !double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                throw Error(valueAt, "expected a number or a 'quoted string'");
            if (!entity.IsNumeric) throw Error(valueAt, $"{Describe(entity)} is text; quote the value, e.g. '{token}'");
            value = number;
        }
        if (entity.IsNumeric && op is "LIKE" or "ILIKE") throw Error(opAt, $"{op} compares text, but {Describe(entity)} is a number");
        if (!entity.IsNumeric && op is "<" or "<=" or ">" or ">=")
            throw Error(opAt, $"{Describe(entity)} is text: use =, !=, LIKE or ILIKE");
        return new FilterClause(entity, op, value);
    }

    private Entity ParseEntity()
    {
        SkipSpace();
        var at = _pos;
        var word = ReadWord();
        if (word.Length == 0) throw Error(at, AtEnd ? "expected metrics.KEY, params.KEY, tags.KEY or an attribute, found the end" : "expected metrics.KEY, params.KEY, tags.KEY or an attribute");
        if (!AtEnd && Peek == '.')
        {
            _pos++;
            var kind = word.ToLowerInvariant() switch
            {
                "metric" or "metrics" => EntityKind.Metric,
                "param" or "params" => EntityKind.Param,
                "tag" or "tags" => EntityKind.Tag,
                "attribute" or "attributes" or "attr" => EntityKind.Attribute,
                _ => throw Error(at, $"unknown prefix '{word}'{Hint(word, Prefixes)}; use metrics., params., tags. or attributes."),
            };
            var keyAt = _pos;
            var key = ReadKey();
            if (key.Length == 0) throw Error(keyAt, $"expected a key after '{word}.'");
            return kind == EntityKind.Attribute ? Attribute(key, keyAt) : new Entity(kind, key);
        }
        return Attribute(word, at);
    }

    private Entity Attribute(string name, int at) =>
        Attributes.TryGetValue(name, out var column)
            ? new Entity(EntityKind.Attribute, column)
            : throw Error(at, $"unknown attribute '{name}'{Hint(name, Attributes.Keys)}; prefix metrics., params. or tags. for logged values");

    private string ReadOperator()
    {
        var at = _pos;
        foreach (var (symbol, sql) in new[] { ("!=", "<>"), ("<>", "<>"), ("<=", "<="), (">=", ">="), ("==", "="), ("=", "="), ("<", "<"), (">", ">") })
        {
            if (string.CompareOrdinal(_text, _pos, symbol, 0, symbol.Length) == 0)
            {
                _pos += symbol.Length;
                return sql;
            }
        }
        var word = ReadWord();
        if (string.Equals(word, "like", StringComparison.OrdinalIgnoreCase)) return "LIKE";
        if (string.Equals(word, "ilike", StringComparison.OrdinalIgnoreCase)) return "ILIKE";
        throw Error(at, "expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE)");
    }

    /// <summary>A key: `backquoted`, "double-quoted", or a run of characters that cannot start an operator or value.</summary>
    private string ReadKey()
    {
        if (!AtEnd && Peek is '`' or '"') return ReadQuoted();
        var start = _pos;
        while (!AtEnd && !char.IsWhiteSpace(Peek) && Peek is not ('=' or '!' or '<' or '>' or '\'' or '"' or ',' or '`')) _pos++;
        return _text[start.._pos];
    }

    private string ReadWord()
    {
        var start = _pos;
        while (!AtEnd && (char.IsAsciiLetterOrDigit(Peek) || Peek == '_')) _pos++;
        return _text[start.._pos];
    }

    /// <summary>A string in the quote at the current position; the quote character doubled stands for itself.</summary>
    private string ReadQuoted()
    {
        var quote = Peek;
        var at = _pos;
        _pos++;
        var text = new System.Text.StringBuilder();
        while (true)
        {
            if (AtEnd) throw Error(at, $"the quote {quote} is never closed");
            var c = _text[_pos++];
            if (c == quote)
            {
                if (!AtEnd && Peek == quote)
                {
                    text.Append(quote);
                    _pos++;
                    continue;
                }
                return text.ToString();
            }
            text.Append(c);
        }
    }

    private void SkipSpace()
    {
        while (!AtEnd && char.IsWhiteSpace(Peek)) _pos++;
    }

    private static string Describe(Entity entity) => entity.Kind switch
    {
        EntityKind.Metric => $"metrics.{entity.Key}",
        EntityKind.Param => $"params.{entity.Key}",
        EntityKind.Tag => $"tags.{entity.Key}",
        _ => entity.Key,
    };

    private static string Hint(string input, IEnumerable<string> candidates) =>
        NameSuggester.Closest(input, candidates) is { } suggestion ? $" (did you mean '{suggestion}'?)" : "";

    private UsageException Error(int position, string problem) =>
        new($"bad {_what} at column {position + 1}: {problem}: {_text}");
}
