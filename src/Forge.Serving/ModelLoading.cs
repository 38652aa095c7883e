using Forge.Core;

namespace Forge.Serving;

/// <summary>
/// Turns a verified bundle of one flavor into a <see cref="ServableModel"/>. Each flavor (torch-image, text-embedding, …)
/// adds one loader; a flavor with several model kinds may have several, each claiming its kind in <see cref="CanLoad"/>.
/// </summary>
public interface IModelLoader
{
    /// <summary>The bundle flavor this loader reads, as in forge-model.json.</summary>
    string Flavor { get; }

    /// <summary>Whether this loader reads this manifest (its flavor already matches <see cref="Flavor"/>).</summary>
    bool CanLoad(ModelManifest manifest);

    /// <summary>Loads the model; called once per served version, off the request path.</summary>
    ServableModel Load(ModelBundle bundle);
}

/// <summary>The loaders a server knows, looked up by a bundle's flavor.</summary>
public sealed class ModelLoaderRegistry
{
    private readonly List<IModelLoader> _loaders = [];

    /// <summary>A registry with every loader this build of Forge ships.</summary>
    public static ModelLoaderRegistry CreateDefault()
    {
        var registry = new ModelLoaderRegistry();
        registry.Add(new ImageClassifierLoader());
        registry.Add(new TransferClassifierLoader());
        registry.Add(new TextClassifierLoader());
        registry.Add(new SequenceTextLoader());
        registry.Add(new ForecastLoader());
        registry.Add(new TabularModelLoader());
        return registry;
    }

    /// <summary>Adds a loader; a later loader is asked before earlier ones for the same flavor, so it can take over a model kind.</summary>
    public ModelLoaderRegistry Add(IModelLoader loader)
    {
        ArgumentNullException.ThrowIfNull(loader);
        ArgumentException.ThrowIfNullOrWhiteSpace(loader.Flavor);
        _loaders.Insert(0, loader);
        return this;
    }

    /// <summary>The flavors some loader reads.</summary>
    public IReadOnlyList<string> Flavors => _loaders.Select(l => l.Flavor).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The loader for a manifest, or null with the reason none fits.</summary>
    public IModelLoader? Find(ModelManifest manifest, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var sameFlavor = _loaders.Where(l => string.Equals(l.Flavor, manifest.Flavor, StringComparison.Ordinal)).ToArray();
        var loader = sameFlavor.FirstOrDefault(l => l.CanLoad(manifest));
        problem = loader is not null ? null
            : sameFlavor.Length > 0 ? $"this server reads flavor '{manifest.Flavor}' but not this kind of model ({KindOf(manifest)})"
            : $"this server cannot serve flavor '{manifest.Flavor}' (it serves: {string.Join(", ", Flavors)})";
        return loader;
    }

    private static string KindOf(ModelManifest manifest) =>
        manifest.Model?["kind"]?.ToString() is { } kind ? $"model.kind '{kind}'" : "no model.kind";
}

/// <summary>A loaded model as the server uses it: the predictor, and how a request's instances become its input rows.</summary>
/// <param name="predictor">The model; the server calls it from one dedicated thread only, and disposes it when unloaded.</param>
/// <param name="decoder">Turns request instances into rows the predictor takes.</param>
public sealed class ServableModel(IPredictor predictor, InstanceDecoder decoder) : IDisposable
{
    /// <summary>The model.</summary>
    public IPredictor Predictor { get; } = predictor ?? throw new ArgumentNullException(nameof(predictor));

    /// <summary>Turns request instances into input rows.</summary>
    public InstanceDecoder Decoder { get; } = decoder ?? throw new ArgumentNullException(nameof(decoder));

    /// <summary>What the model takes and gives.</summary>
    public ModelSignature Signature => Predictor.Signature;

    /// <inheritdoc />
    public void Dispose() => Predictor.Dispose();
}

/// <summary>A request input that does not fit the model's signature; answered 400 naming <see cref="Field"/>.</summary>
public class InputException : ForgeException
{
    /// <summary>Creates an error naming the field at fault (e.g. <c>instances[3]</c>) and what is wrong with it.</summary>
    public InputException(string field, string problem) : base($"{field}: {problem}")
    {
        Field = field;
        Problem = problem;
    }

    /// <summary>The request field at fault, as a JSON path such as <c>instances[3].image_b64</c>.</summary>
    public string Field { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
