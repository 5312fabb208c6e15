package io.evocompress.demo;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.evocompress.EvocompressException;
import io.evocompress.checkpoint.CheckpointReader;
import io.evocompress.checkpoint.DType;
import io.evocompress.data.TextTokenizer;
import io.evocompress.data.TokenSequences;
import io.evocompress.fs.AtomicDirectory;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.metrics.ModelScorer;
import io.evocompress.model.CausalLm;
import io.evocompress.model.ModelConfig;
import io.evocompress.model.ModelLoader;
import io.evocompress.model.SyntheticCheckpoint;
import io.evocompress.train.AdamW;
import io.evocompress.train.NextTokenLoss;
import io.evocompress.train.TokenBatches;
import io.evocompress.train.TrainedCheckpoint;
import io.evocompress.train.Trainer;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * The demo's model, made on this machine with nothing downloaded: a small Llama trained on text of a
 * {@link GeneratedLanguage}, with its {@link WordLevelTokenizer}. Weights start from the seeded
 * synthetic initialiser (N(0, 0.02^2), unit norms, tied embeddings) and are trained with next-token
 * cross-entropy, AdamW (betas 0.9/0.95, weight decay 0.01), linear warm-up then a constant rate, and
 * gradient clipping at norm 1, for a step and/or wall-clock budget.
 *
 * <p>The output directory, written atomically, is a complete Hugging Face checkpoint
 * (config.json, model.safetensors, tokenizer.json, tokenizer_config.json) plus the generated text
 * {@code train.txt} and {@code heldout.txt} (one document per line) for calibration, search and
 * held-out evaluation.
 */
public final class DemoModel {
    public static final String TRAIN_TEXT = "train.txt";
    public static final String HELDOUT_TEXT = "heldout.txt";

    /** The model shape and training recipe. */
    public record Settings(int hidden, int layers, int heads, int intermediate, int context, int seqLen, int batchSize,
                           double learningRate, int warmupSteps, int trainDocuments, int heldoutDocuments) {
        public Settings {
            if (seqLen > context) {
                throw new EvocompressException("Demo training sequence length " + seqLen + " exceeds the context " + context);
            }
        }

        /** hidden 128, 4 blocks, 4 heads, intermediate 352, context 256; batches of 4 x 256 tokens. */
        public static Settings defaults() {
            return new Settings(128, 4, 4, 352, 256, 256, 4, 3e-3, 30, 12000, 600);
        }
    }

    /** What a build did. */
    public record Result(int vocabularySize, long parameters, long trainTokens, long heldoutTokens, double uniformPerplexity,
                         double unigramPerplexity, double heldoutPerplexityBefore, double heldoutPerplexityAfter,
                         Trainer.RunSummary training) {
    }

    private DemoModel() {
    }

    /**
     * Generates the language and text, trains, and writes the checkpoint to {@code out}.
     *
     * @param maxSteps stop after this many steps (Long.MAX_VALUE: only the time budget)
     * @param budget   stop after this much training time (null: only the step budget)
     * @param log      progress lines
     */
    public static Result build(FileSystem fs, Path out, Settings s, long seed, long maxSteps, Duration budget,
                               boolean overwrite, Trainer.Progress progress, Consumer<String> log) {
        if (maxSteps == Long.MAX_VALUE && budget == null) {
            throw new EvocompressException("Give the demo training a step or time budget.");
        }
        if (HadoopFiles.exists(fs, out) && !overwrite) {
            throw new EvocompressException("Output " + out + " already exists: choose another output path or remove it first.");
        }
        GeneratedLanguage language = new GeneratedLanguage(seed);
        List<String> words = language.vocabulary();
        int vocab = WordLevelTokenizer.size(words);
        List<String> train = language.documents(s.trainDocuments(), seed * 2 + 1);
        List<String> heldout = language.documents(s.heldoutDocuments(), seed * 2 + 2);
        String configJson = SyntheticCheckpoint.configJson(s.hidden(), s.layers(), s.heads(), s.heads(), s.intermediate(),
            vocab, s.context(), true);
        java.nio.file.Path staging = null;
        try {
            staging = Files.createTempDirectory("evocompress-demo");
            FileSystem local = HadoopFiles.fileSystem(HadoopFiles.path(staging.toString()), HadoopFiles.defaultConf());
            Path side = HadoopFiles.path(staging.resolve("tokenizer").toString());
            local.mkdirs(side);
            writeText(local, new Path(side, TextTokenizer.FILE), WordLevelTokenizer.tokenizerJson(words));
            writeText(local, new Path(side, "tokenizer_config.json"), WordLevelTokenizer.tokenizerConfigJson(s.context()));
            int[] trainStream;
            int[] heldoutStream;
            try (TextTokenizer tokenizer = TextTokenizer.load(local, side)) {
                trainStream = TokenSequences.stream(tokenizer, train, WordLevelTokenizer.BOS_ID, 0);
                heldoutStream = TokenSequences.stream(tokenizer, heldout, WordLevelTokenizer.BOS_ID, 0);
            }
            log.accept(String.format("generated language: %d words (vocabulary %d with specials), %,d training and %,d held-out tokens",
                words.size(), vocab, trainStream.length, heldoutStream.length));
            Path init = HadoopFiles.path(staging.resolve("init").toString());
            ModelConfig config = SyntheticCheckpoint.write(local, init, configJson, seed, DType.F32, 1, false);
            List<int[]> heldoutSequences = TokenSequences.chunks(heldoutStream, s.seqLen());
            try (CausalLm model = load(init)) {
                double before = perplexity(model, heldoutSequences);
                double unigram = unigramPerplexity(trainStream, heldoutStream, vocab);
                log.accept(String.format("%,d parameters; held-out perplexity before training %.2f (uniform %d, unigram %.2f)",
                    config.parameterCount(), before, vocab, unigram));
                Trainer.Settings recipe = new Trainer.Settings(s.learningRate(), s.warmupSteps(), 1.0,
                    new AdamW.Settings(0.9, 0.95, 1e-8, 0.01));
                Trainer.RunSummary run;
                try (Trainer trainer = new Trainer(model, new NextTokenLoss(), recipe)) {
                    run = trainer.run(new TokenBatches(trainStream, s.seqLen(), s.batchSize(), seed), maxSteps, budget, progress);
                }
                double after = perplexity(model, heldoutSequences);
                log.accept(String.format("trained %d steps in %.1f s (%.2f steps/s, %.0f tokens/s); held-out perplexity %.2f",
                    run.steps(), run.seconds(), run.stepsPerSecond(), run.tokensPerSecond(), after));
                write(fs, out, overwrite, model, configJson, local, side, train, heldout);
                return new Result(vocab, config.parameterCount(), trainStream.length, heldoutStream.length, vocab, unigram,
                    before, after, run);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot build the demo model", e);
        } finally {
            deleteQuietly(staging);
        }
    }

    /** Held-out perplexity of a model on sequences (batches of 8). */
    public static double perplexity(CausalLm model, List<int[]> sequences) {
        return new ModelScorer(model, null, 8).score(sequences, null).perplexity();
    }

    /**
     * exp of the held-out cross-entropy under the training text's unigram distribution (add-one
     * smoothed), over the positions a model predicts (every token after the first).
     */
    public static double unigramPerplexity(int[] train, int[] heldout, int vocab) {
        double[] counts = new double[vocab];
        java.util.Arrays.fill(counts, 1.0);
        for (int id : train) {
            counts[id]++;
        }
        double total = train.length + (double) vocab;
        double nll = 0;
        for (int i = 1; i < heldout.length; i++) {
            nll -= Math.log(counts[heldout[i]] / total);
        }
        return Math.exp(nll / (heldout.length - 1));
    }

    private static CausalLm load(Path dir) {
        try (CheckpointReader reader = CheckpointReader.open(dir, HadoopFiles.defaultConf())) {
            return ModelLoader.load(reader, Device.cpu(), DataType.FLOAT32);
        }
    }

    /** config.json, model.safetensors, tokenizer files and the text, renamed into place together. */
    private static void write(FileSystem fs, Path out, boolean overwrite, CausalLm model, String configJson,
                              FileSystem sideFs, Path side, List<String> train, List<String> heldout) throws IOException {
        try (AtomicDirectory dir = AtomicDirectory.create(fs, out, overwrite)) {
            Path checkpoint = dir.resolve("checkpoint");
            TrainedCheckpoint.write(model, configJson, fs, checkpoint, DType.F32, false, sideFs, side);
            for (FileStatus f : fs.listStatus(checkpoint)) {
                if (!fs.rename(f.getPath(), dir.resolve(f.getPath().getName()))) {
                    throw new IOException("Could not move " + f.getPath() + " into " + dir.dir());
                }
            }
            fs.delete(checkpoint, true);
            writeText(fs, dir.resolve(TRAIN_TEXT), String.join("\n", train) + "\n");
            writeText(fs, dir.resolve(HELDOUT_TEXT), String.join("\n", heldout) + "\n");
            dir.commit();
        }
    }

    private static void writeText(FileSystem fs, Path file, String text) throws IOException {
        try (FSDataOutputStream o = fs.create(file, false)) {
            o.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static void deleteQuietly(java.nio.file.Path dir) {
        if (dir == null) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary directory left behind is harmless
        }
    }
}
