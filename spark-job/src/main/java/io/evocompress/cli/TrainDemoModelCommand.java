package io.evocompress.cli;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;
import io.evocompress.demo.DemoModel;
import io.evocompress.fs.HadoopFiles;
import org.apache.hadoop.fs.Path;

import java.time.Duration;
import java.util.Set;

/**
 * {@code evocompress train-demo-model}: trains the demo's small Llama on a generated language, on
 * this machine, with nothing downloaded (see {@link DemoModel}).
 */
final class TrainDemoModelCommand implements Command {

    @Override
    public String name() {
        return "train-demo-model";
    }

    @Override
    public String summary() {
        return "train a small model on a generated language (no download; the demo's model)";
    }

    @Override
    public Set<String> options() {
        return Set.of("out", "seconds", "steps", "seed", "threads");
    }

    @Override
    public Set<String> flags() {
        return Set.of("overwrite");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress train-demo-model --out DIR [--seconds N] [--steps N] [--seed S] [--threads T]
                                                [--overwrite] [--json]

            Generates a language from a seeded probabilistic grammar (word classes, number agreement across
            relative clauses, per-document topics, a protagonist named at the start and again at the end),
            writes a word-level tokenizer for it, and trains a small Llama (hidden 128, 4 blocks, 4 heads,
            intermediate 352, context 256, tied embeddings) on it with AdamW on the CPU. Prints the
            held-out perplexity before and after training, next to the uniform and unigram baselines.
              --out DIR      output: a Hugging Face checkpoint directory (config.json, model.safetensors,
                             tokenizer.json, tokenizer_config.json) plus train.txt and heldout.txt (one
                             document per line), written atomically; eval loads it
              --seconds N    training time budget (default 90 when --steps is not given)
              --steps N      training step budget (4 sequences of 256 tokens per step)
              --seed S       seed of the language, the text, the initial weights and the batches (default 0)
              --threads T    PyTorch intra-op threads (default: the engine's; 1 is much faster on a busy machine)

            Example:
              deploy/evocompress train-demo-model --out /tmp/demo-model --seconds 90
              deploy/evocompress eval --model /tmp/demo-model --data /tmp/demo-model/heldout.txt
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) {
        Path out = HadoopFiles.path(args.required("out"));
        long steps = args.longOr("steps", Long.MAX_VALUE);
        int seconds = args.intOr("seconds", steps == Long.MAX_VALUE ? 90 : 0);
        if (steps <= 0 || seconds < 0) {
            throw new EvocompressException("--steps must be positive and --seconds >= 0, but were " + steps + " and " + seconds);
        }
        Duration budget = seconds > 0 ? Duration.ofSeconds(seconds) : null;
        if (args.get("threads").isPresent()) {
            int threads = args.intOr("threads", 0);
            if (threads < 1) {
                throw new EvocompressException("--threads must be at least 1, but was " + threads);
            }
            Engine.getInstance();
            JniUtils.setNumThreads(threads);
        }
        long seed = args.longOr("seed", 0);
        long[] lastPrint = {System.nanoTime()};
        DemoModel.Result r = DemoModel.build(HadoopFiles.fileSystem(out, HadoopFiles.defaultConf()), out,
            DemoModel.Settings.defaults(), seed, steps, budget, args.flag("overwrite"),
            step -> {
                long now = System.nanoTime();
                if (step.step() == 1 || now - lastPrint[0] > 5_000_000_000L) {
                    lastPrint[0] = now;
                    console.progress("step %d  loss %.4f  %.0f tokens/s", step.step(), step.loss(), step.tokensPerSecond());
                }
            },
            console.lines());
        ObjectNode result = Main.newResult(name());
        result.put("out", out.toString());
        result.put("vocabulary_size", r.vocabularySize());
        result.put("parameters", r.parameters());
        result.put("train_tokens", r.trainTokens());
        result.put("heldout_tokens", r.heldoutTokens());
        result.put("steps", r.training().steps());
        result.put("training_seconds", r.training().seconds());
        result.put("steps_per_second", r.training().stepsPerSecond());
        result.put("tokens_per_second", r.training().tokensPerSecond());
        result.put("final_train_loss", r.training().lastLoss());
        result.put("uniform_perplexity", r.uniformPerplexity());
        result.put("unigram_perplexity", r.unigramPerplexity());
        result.put("heldout_perplexity_before", r.heldoutPerplexityBefore());
        result.put("heldout_perplexity_after", r.heldoutPerplexityAfter());
        result.put("train_text", new Path(out, DemoModel.TRAIN_TEXT).toString());
        result.put("heldout_text", new Path(out, DemoModel.HELDOUT_TEXT).toString());
        return result;
    }
}
