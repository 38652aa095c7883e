using System.Net;
using System.Text.Json.Nodes;
using Forge.Core;
using Forge.Tests.Shared;
using Forge.Text;

namespace Forge.Serving.Tests;

/// <summary>Text bundles behind the native API and the Open Inference Protocol: answers, batching, metadata and validation.</summary>
[Collection(SentimentServerCollection.Name)]
public sealed class TextServingTests(SentimentServerFixture sentiment, Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Folder = SentimentServerFixture.Folder;

    private RunningServer Server => sentiment.Server;

    private static string Label(JsonNode body, int i) => (string)body["predictions"]![i]!;

    [SharedDataFact(Folder)]
    public async Task Clearly_positive_and_negative_chat_messages_get_their_label_and_the_in_process_probabilities()
    {
        var cases = SentimentServerFixture.Positive.Select(t => (Text: t, Label: "positive")).Concat(SentimentServerFixture.Negative.Select(t => (Text: t, Label: "negative"))).ToArray();
        var answers = new List<(string Label, JsonObject Probabilities)>();
        foreach (var (text, expected) in cases)
        {
            var (response, body) = await Server.PostAsync("/v1/models/sentiment/predict", new JsonObject { ["text"] = text });

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("sentiment", (string?)body!["model"]);
            Assert.Equal("1", (string?)body["version"]);
            answers.Add((Label(body, 0), body["probabilities"]![0]!.AsObject()));
            output.WriteLine($"{Label(body, 0)} p={answers[^1].Probabilities[expected]!.GetValue<float>():F4} (expected {expected}): {text}");
        }
        for (var i = 0; i < cases.Length; i++)
        {
            var (text, expected) = cases[i];
            var (label, probabilities) = answers[i];
            Assert.Equal(expected, label);
            Assert.Equal(["negative", "positive"], probabilities.Select(p => p.Key));
            // Negatives clear enough to count for the chat page's escalation rule (p ≥ 0.8); positives by a clear margin.
            var least = expected == "negative" ? 0.8f : 0.6f;
            Assert.True(probabilities[expected]!.GetValue<float>() >= least, $"{text}: p({expected}) = {probabilities[expected]}, below {least}");
            var reference = sentiment.Reference.Predict([text])[0];
            for (var k = 0; k < 2; k++) Assert.Equal(reference.Probabilities[k], probabilities[sentiment.Reference.Labels[k]]!.GetValue<float>());
        }
    }

    [SharedDataFact(Folder)]
    public async Task Instances_may_be_text_objects_or_bare_strings_and_answer_in_order()
    {
        var texts = new[] { SentimentServerFixture.Positive[0], SentimentServerFixture.Negative[0], SentimentServerFixture.Positive[1] };
        var expected = sentiment.Reference.PredictProbabilities(texts);
        var instances = new JsonArray(new JsonObject { ["text"] = texts[0] }, texts[1], new JsonObject { ["text"] = texts[2], ["conversation"] = "c-17" });

        var (response, body) = await Server.PostAsync("/v1/models/sentiment/predict", new JsonObject { ["instances"] = instances });
        var (single, singleBody) = await Server.PostRawAsync("/v1/models/sentiment/predict", new JsonArray(texts[1]).ToJsonString()[1..^1]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["positive", "negative", "positive"], body!["predictions"]!.AsArray().Select(p => (string?)p));
        for (var i = 0; i < 3; i++)
        {
            for (var k = 0; k < 2; k++) Assert.Equal(expected[i][k], body["probabilities"]![i]![sentiment.Reference.Labels[k]]!.GetValue<float>());
        }
        Assert.Equal(HttpStatusCode.OK, single.StatusCode);
        Assert.Equal("negative", Label(singleBody!, 0));
    }

    [SharedDataFact(Folder)]
    public async Task Concurrent_messages_are_coalesced_into_fewer_encoder_calls_with_the_same_labels()
    {
        var texts = SentimentServerFixture.Positive.Concat(SentimentServerFixture.Negative).ToArray();
        var before = await Stats("sentiment-batched");

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            Server.PostAsync("/v1/models/sentiment-batched/predict", new JsonObject { ["text"] = texts[i % texts.Length] })));

        var after = await Stats("sentiment-batched");
        output.WriteLine($"12 concurrent texts: {after.Forward - before.Forward} encoder calls");
        Assert.Equal(12, after.Rows - before.Rows);
        Assert.True(after.Forward - before.Forward < 12, $"{after.Forward - before.Forward} encoder calls for 12 concurrent texts");
        var reference = sentiment.Reference.PredictProbabilities(texts);
        for (var i = 0; i < 12; i++)
        {
            Assert.Equal(HttpStatusCode.OK, responses[i].Response.StatusCode);
            Assert.Equal(i % texts.Length < SentimentServerFixture.Positive.Length ? "positive" : "negative", Label(responses[i].Body!, 0));
            // In a batch, a text is padded to the longest one; the encoder's answer moves by rounding only.
            for (var k = 0; k < 2; k++)
                Assert.InRange(responses[i].Body!["probabilities"]![0]![sentiment.Reference.Labels[k]]!.GetValue<float>() - reference[i % texts.Length][k], -1e-4f, 1e-4f);
        }
    }

    private async Task<(long Forward, long Rows)> Stats(string model)
    {
        var (_, body) = await Server.GetAsync($"/v1/models/{model}");
        var stats = body!["versions"]![0]!["stats"]!;
        return ((long)stats["forwardCalls"]!, (long)stats["rowsPredicted"]!);
    }

    [SharedDataFact(Folder)]
    public async Task V2_infer_takes_a_bytes_tensor_of_texts_and_gives_probabilities_and_labels()
    {
        var texts = new[] { SentimentServerFixture.Negative[1], SentimentServerFixture.Positive[2] };
        var expected = sentiment.Reference.PredictProbabilities(texts);
        var request = new JsonObject
        {
            ["id"] = "chat-42",
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "text", ["datatype"] = "BYTES", ["shape"] = new JsonArray(2), ["data"] = new JsonArray(texts[0], texts[1]),
            }),
        };

        var (response, body) = await Server.PostAsync("/v2/models/sentiment/infer", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sentiment", (string?)body!["model_name"]);
        Assert.Equal("chat-42", (string?)body["id"]);
        var outputs = body["outputs"]!.AsArray().ToDictionary(o => (string)o!["name"]!);
        Assert.Equal([2, 2], outputs["probabilities"]!["shape"]!.AsArray().Select(d => (int)d!));
        Assert.Equal("FP32", (string?)outputs["probabilities"]!["datatype"]);
        var flat = outputs["probabilities"]!["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        Assert.Equal(expected.SelectMany(p => p), flat);
        Assert.Equal(["negative", "positive"], outputs["label"]!["data"]!.AsArray().Select(v => (string?)v));
    }

    [SharedDataFact(Folder)]
    public async Task Metadata_describes_the_text_input_in_both_protocols()
    {
        var (v2, v2Body) = await Server.GetAsync("/v2/models/sentiment");
        var (v1, v1Body) = await Server.GetAsync("/v1/models/sentiment");

        Assert.Equal(HttpStatusCode.OK, v2.StatusCode);
        Assert.Equal("forge_text_embedding", (string?)v2Body!["platform"]);
        var input = Assert.Single(v2Body["inputs"]!.AsArray())!;
        Assert.Equal("text", (string?)input["name"]);
        Assert.Equal("BYTES", (string?)input["datatype"]);
        Assert.Equal(["probabilities", "label"], v2Body["outputs"]!.AsArray().Select(o => (string?)o!["name"]));

        Assert.Equal(HttpStatusCode.OK, v1.StatusCode);
        var version = v1Body!["versions"]![0]!;
        Assert.Equal("text-embedding", (string?)version["flavor"]);
        Assert.Equal("text", (string?)version["signature"]!["inputs"]![0]!["name"]);
        Assert.Equal("string", (string?)version["signature"]!["inputs"]![0]!["dtype"]);
        Assert.Equal(["negative", "positive"], version["signature"]!["labels"]!.AsArray().Select(l => (string?)l));
        Assert.Equal("{\"text\": \"…\"} or a JSON string (at most 10,000 characters)", (string?)version["instance"]);
    }

    public static TheoryData<string, string, string> InvalidNative() => new()
    {
        { """{"instances": [{"text": "fine"}, {"text": ""}]}""", "instances[1].text", "empty" },
        { """{"instances": [{"text": "fine"}, {"text": "  \n "}]}""", "instances[1].text", "empty" },
        { """{"instances": [{"text": "fine"}, {"txt": "typo"}]}""", "instances[1].text", "required" },
        { """{"instances": [{"text": "fine"}, {"text": 42}]}""", "instances[1].text", "expected a string; got a number" },
        { """{"instances": ["fine", null, "fine"]}""", "instances[1]", "got null" },
        { """{"instances": ["fine", ["a", "b"]]}""", "instances[1]", "got an array" },
        { """{"text": null}""", "instance.text", "got null" },
        { """{"instances": []}""", "instances", "empty" },
        { """[1, 2, 3]""", "instance", "got an array" },
    };

    [SharedDataTheory(Folder)]
    [MemberData(nameof(InvalidNative))]
    public async Task Each_invalid_text_instance_is_a_400_naming_the_field(string json, string field, string problem)
    {
        var (response, body) = await Server.PostRawAsync("/v1/models/sentiment/predict", json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (string?)body!["field"]);
        Assert.Contains(problem, (string?)body["detail"], StringComparison.Ordinal);
    }

    [SharedDataFact(Folder)]
    public async Task A_text_over_the_length_limit_is_a_400_that_names_the_limit()
    {
        var longest = new string('a', TextInstanceDecoder.DefaultMaxCharacters);
        var (ok, _) = await Server.PostAsync("/v1/models/sentiment-tfidf/predict", new JsonObject { ["text"] = longest });
        var (response, body) = await Server.PostAsync("/v1/models/sentiment/predict",
            new JsonObject { ["instances"] = new JsonArray("fine", longest + "a") });

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("instances[1]", (string?)body!["field"]);
        Assert.Contains("10,001 characters, over the limit of 10,000", (string?)body["detail"], StringComparison.Ordinal);
    }

    [SharedDataFact(Folder)]
    public async Task V2_refuses_numbers_and_empty_texts_for_a_text_model_naming_the_field()
    {
        static JsonObject Infer(string datatype, JsonArray data) => new()
        {
            ["inputs"] = new JsonArray(new JsonObject { ["name"] = "text", ["datatype"] = datatype, ["shape"] = new JsonArray(data.Count), ["data"] = data }),
        };

        var (numbers, numbersBody) = await Server.PostAsync("/v2/models/sentiment/infer", Infer("FP32", new JsonArray(1, 2)));
        var (empty, emptyBody) = await Server.PostAsync("/v2/models/sentiment/infer", Infer("BYTES", new JsonArray("fine", "")));
        var (nonString, nonStringBody) = await Server.PostAsync("/v2/models/sentiment/infer", Infer("BYTES", new JsonArray("fine", 3)));

        Assert.Equal(HttpStatusCode.BadRequest, numbers.StatusCode);
        Assert.StartsWith("inputs[0].datatype: 'FP32' is not supported here; use BYTES", (string?)numbersBody!["error"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.StartsWith("inputs[0].data[1]: the text is empty", (string?)emptyBody!["error"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, nonString.StatusCode);
        Assert.StartsWith("inputs[0].data[1]: expected a string (BYTES)", (string?)nonStringBody!["error"], StringComparison.Ordinal);
    }

    [SharedDataFact(Folder)]
    public async Task The_tfidf_baseline_bundle_is_served_with_the_in_process_probabilities()
    {
        using var reference = TextClassifier.Load(sentiment.TfidfDirectory);
        var texts = new[] { "the food was great and the staff were lovely", "the battery died after a day, total waste of money" };
        var expected = reference.PredictProbabilities(texts);

        var (response, body) = await Server.PostAsync("/v1/models/sentiment-tfidf/predict", new JsonObject { ["instances"] = new JsonArray(texts[0], texts[1]) });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TextClassifier.TfidfFeaturizer, reference.Featurizer);
        Assert.Equal(["positive", "negative"], body!["predictions"]!.AsArray().Select(p => (string?)p));
        for (var i = 0; i < 2; i++)
        {
            for (var k = 0; k < 2; k++) Assert.Equal(expected[i][k], body["probabilities"]![i]![reference.Labels[k]]!.GetValue<float>());
        }
    }

    [SharedDataFact(Folder)]
    public async Task Predicted_labels_are_counted_in_the_metrics()
    {
        await Server.PostAsync("/v1/models/sentiment-tfidf/predict", new JsonObject { ["text"] = "awful, broken, useless and rude" });

        var metrics = await Server.Client.GetStringAsync("/metrics");

        Assert.Contains("forge_predictions_total{model=\"sentiment-tfidf\",version=\"1\",label=\"negative\"}", metrics, StringComparison.Ordinal);
    }
}
