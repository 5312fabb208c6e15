package io.evocompress.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.data.TextDocuments;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenIdsFile;
import io.evocompress.data.TokenSequences;
import io.evocompress.device.ByteSize;
import io.evocompress.eval.EvalJob;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.metrics.SequenceScores;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.Residency;
import io.evocompress.model.TensorLayout;
import io.evocompress.spark.SparkContexts;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;

import java.util.List;
import java.util.Set;

/** {@code evocompress eval}: perplexity of a model on text, and KL divergence from a reference model. */
final class EvalCommand implements Command {
    static final int DEFAULT_SEQ_LEN = 512;

    @Override
    public String name() {
        return "eval";
    }

    @Override
    public String summary() {
        return "perplexity of a checkpoint on text (and KL divergence from a reference model)";
    }

    @Override
    public Set<String> options() {
        return Set.of("model", "data", "seq-len", "max-tokens", "reference-model", "batch-size", "device", "dtype", "partitions",
            "residency", "device-memory");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress eval --model URI --data FILE [--seq-len N] [--max-tokens N]
                                    [--reference-model URI] [--residency auto|resident|streamed]
                                    [--device-memory BYTES] [--json]

            Perplexity of a Hugging Face checkpoint on text, scored on Spark (local master by default).
              --model URI            checkpoint directory (config.json, *.safetensors, tokenizer.json) on any
                                     Hadoop file system: a local path, file:, hdfs:, s3a:
              --data FILE            plain text (every non-empty line a document), JSON Lines with a "text"
                                     field (.jsonl), or a .safetensors file whose integer tensor token_ids is
                                     one sequence, scored exactly as given
              --seq-len N            tokens per sequence: documents are tokenized, concatenated after one <s>
                                     and cut into sequences of N (default: min(512, the model's context))
              --max-tokens N         use at most the first N tokens of the text (default: all)
              --reference-model URI  also report kl_divergence = KL(P_reference || Q_model) per token
              --batch-size N         sequences per forward pass (default 8)
              --device D             auto (the task's GPU, else CPU), cpu, gpu, gpu:N (default auto)
              --dtype T              auto (float32 on CPU, bfloat16 on GPU), float32, float16, bfloat16
              --partitions N         Spark tasks to split the sequences into (default: Spark's parallelism)
              --residency R          auto, resident or streamed (default auto): resident loads each model whole
                                     onto the task's device; streamed keeps one block (or the embeddings, or the
                                     head) there at a time, read through the JVM's host cache (-Devocompress.host-cache,
                                     default 1/8 of the Java heap); auto streams when the model (and the reference)
                                     in the compute dtype exceed --device-memory. Same numbers either way.
              --device-memory B      bytes (k/m/g/t suffixes) auto compares against (default: the device's free
                                     memory; on the CPU the host's available memory less the Java heap's headroom)
              --json                 print the result as one JSON object on the last line of stdout

            Result: nll_per_token (mean next-token negative log-likelihood, nats), perplexity = exp of it,
            tokens (positions scored: the last token of each sequence predicts nothing), sequences, and
            kl_divergence with --reference-model.

            Example:
              deploy/evocompress eval --model ../shared/fixtures/models/stories260K \\
                  --data ../shared/fixtures/text/tinystories_sample.txt --seq-len 256 --json
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) {
        String modelUri = args.required("model");
        String dataUri = args.required("data");
        String referenceUri = args.get("reference-model").orElse(null);
        int batchSize = args.intOr("batch-size", 8);
        if (batchSize < 1) {
            throw new Args.UsageException("--batch-size must be at least 1, but was " + batchSize);
        }
        long maxTokens = args.longOr("max-tokens", 0);
        String device = args.getOr("device", "auto");
        String dtype = args.getOr("dtype", "auto");
        if (!io.evocompress.device.DeviceChoice.isValidSpec(device)) {
            throw new Args.UsageException("--device must be auto, cpu, gpu or gpu:N, but was '" + device + "'");
        }
        if (!io.evocompress.device.DeviceChoice.isValidDtypeSpec(dtype)) {
            throw new Args.UsageException("--dtype must be auto, float32, float16 or bfloat16, but was '" + dtype + "'");
        }

        Residency residency;
        long deviceMemory;
        try {
            residency = Residency.parse(args.getOr("residency", "auto"), "--residency");
            deviceMemory = args.get("device-memory").map(v -> ByteSize.parse(v, "--device-memory")).orElse(0L);
        } catch (EvocompressException e) {
            throw new Args.UsageException(e.getMessage());
        }

        // Everything that can be wrong with the input is checked here, before Spark starts.
        ModelConfig config;
        List<int[]> sequences;
        int seqLen;
        try (CheckpointReader model = CheckpointReader.open(modelUri)) {
            config = ModelLoader.config(model);
            TensorLayout.of(config, model).check(model);
            console.progress("model %s: %s, %d blocks, hidden %d, vocab %d, context %d", modelUri, config.modelType(),
                config.numLayers(), config.hiddenSize(), config.vocabSize(), config.maxPositionEmbeddings());
            if (referenceUri != null) {
                checkReference(referenceUri, config);
            }
            Path data = HadoopFiles.path(dataUri);
            FileSystem fs = HadoopFiles.fileSystem(data, HadoopFiles.defaultConf());
            if (TokenIdsFile.matches(data)) {
                int[] ids = TokenIdsFile.read(fs, data);
                checkIds(ids, config, data);
                if (ids.length > config.maxPositionEmbeddings()) {
                    throw new EvocompressException(data + " holds a sequence of " + ids.length
                        + " tokens, longer than the model's context of " + config.maxPositionEmbeddings() + " tokens.");
                }
                seqLen = ids.length;
                sequences = List.of(ids);
                console.progress("data %s: one sequence of %d token ids, scored as given", dataUri, ids.length);
            } else {
                seqLen = args.intOr("seq-len", Math.min(DEFAULT_SEQ_LEN, config.maxPositionEmbeddings()));
                if (seqLen > config.maxPositionEmbeddings()) {
                    throw new EvocompressException("--seq-len " + seqLen + " exceeds the model's context of "
                        + config.maxPositionEmbeddings() + " tokens (max_position_embeddings in " + model.dir()
                        + "/config.json): use --seq-len " + config.maxPositionEmbeddings() + " or less.");
                }
                if (seqLen < 2) {
                    throw new Args.UsageException("--seq-len must be at least 2, but was " + seqLen);
                }
                List<String> docs = TextDocuments.read(fs, data);
                int[] stream;
                try (TextTokenizer tokenizer = TextTokenizer.load(model.fileSystem(), model.dir())) {
                    tokenizer.checkFits(config, modelUri);
                    stream = TokenSequences.stream(tokenizer, docs, config.bosTokenId(), maxTokens);
                }
                sequences = TokenSequences.chunks(stream, seqLen);
                if (sequences.isEmpty()) {
                    throw new EvocompressException(data + " yields fewer than 2 tokens: nothing to score.");
                }
                console.progress("data %s: %d documents, %d tokens -> %d sequences of up to %d", dataUri, docs.size(),
                    stream.length, sequences.size(), seqLen);
            }
        }

        SequenceScores scores;
        String residencyUsed;
        // eval has no output: Spark's local directories go into a scratch it owns and deletes (not /tmp/blockmgr-*)
        try (io.evocompress.spark.RunScratch scratch = io.evocompress.spark.RunScratch.create("eval");
             JavaSparkContext sc = SparkContexts.startIn("eval", scratch.dir())) {
            int partitions = args.intOr("partitions", sc.defaultParallelism());
            console.progress("scoring on Spark master %s in %d task(s), device %s, dtype %s, residency %s", sc.master(),
                Math.min(partitions, sequences.size()), device, dtype, residency);
            EvalJob.Scored scored = EvalJob.score(sc, sequences, modelUri, referenceUri, device, dtype, residency,
                deviceMemory, batchSize, partitions, console.lines());
            scores = scored.scores();
            residencyUsed = String.join(",", scored.residencies());
        }
        double seconds = console.elapsedSeconds();
        console.progress("done: nll/token %.4f, perplexity %.3f over %d tokens", scores.nllPerToken(), scores.perplexity(),
            scores.nllTokens());

        ObjectNode result = Main.newResult(name());
        result.put("model", modelUri);
        result.put("data", dataUri);
        result.put("nll_per_token", scores.nllPerToken());
        result.put("perplexity", scores.perplexity());
        result.put("tokens", scores.nllTokens());
        result.put("sequences", sequences.size());
        result.put("seq_len", seqLen);
        if (referenceUri != null) {
            result.put("reference_model", referenceUri);
            result.put("kl_divergence", scores.klDivergence());
        }
        result.put("residency", residencyUsed);
        result.put("seconds", seconds);
        return result;
    }

    private static void checkReference(String referenceUri, ModelConfig config) {
        try (CheckpointReader ref = CheckpointReader.open(referenceUri)) {
            ModelConfig refConfig = ModelLoader.config(ref);
            TensorLayout.of(refConfig, ref).check(ref);
            if (refConfig.vocabSize() != config.vocabSize()) {
                throw new EvocompressException("The reference model " + referenceUri + " has vocab_size " + refConfig.vocabSize()
                    + " but the model has " + config.vocabSize() + ": KL needs the same vocabulary.");
            }
        }
    }

    private static void checkIds(int[] ids, ModelConfig config, Path file) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= config.vocabSize()) {
                throw new EvocompressException(file + ": token id " + ids[i] + " at position " + i
                    + " is outside the model's vocabulary [0, " + config.vocabSize() + ").");
            }
        }
    }
}
