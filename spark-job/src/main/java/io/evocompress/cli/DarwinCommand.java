package io.evocompress.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.darwin.DarwinJob;
import io.evocompress.darwin.DarwinSettings;

import java.util.Set;

/** {@code evocompress darwin --config FILE.yaml [--set key=value ...]}: DarwinLM structured pruning. */
public final class DarwinCommand implements Command {
    @Override
    public String name() {
        return "darwin";
    }

    @Override
    public String summary() {
        return "DarwinLM: training-aware evolutionary structured pruning of heads and neurons, post-training, smaller model export";
    }

    @Override
    public Set<String> options() {
        return Set.of("config", "set");
    }

    @Override
    public Set<String> flags() {
        return Set.of();
    }

    @Override
    public String help() {
        return """
            Usage: evocompress darwin --config FILE.yaml [--set key=value ...]

            DarwinLM (ALGORITHMS.md section 5): builds (or reuses) the structured database (heads and MLP neurons
            removed by second-order structured OBS, ~10% levels around the target), searches per-block levels with
            training-aware selection (each candidate fine-tuned from its stitched weights on the stage's training
            tokens, one Spark task per candidate, then scored by KL to the dense model), post-trains the winner and
            the uniform structured model with the same budget, and writes OUTPUT/result.json, profile.txt, the
            smaller model OUTPUT/model/ (per-layer sizes in config.json, loadable by eval) and OUTPUT/model-padded/.
            Rerunning resumes: the database, the search state (OUTPUT/state/search.json) and post-training states,
            only with the settings the run started with (OUTPUT/state/search-settings.json; output, device,
            post-training.checkpoint-every, heldout.* and final.tokens may change); other settings are refused.

            Settings:
              model, output, device (auto|cpu|gpu|gpu:N)
              calibration.data, calibration.sequences (64), calibration.seq-len (min(256, context)), calibration.seed,
              calibration.shards, calibration.batch-size
              database.path (OUTPUT/database), database.target (0.5: fraction of heads and of neurons removed
              uniformly), database.steps (10: levels of ~10%)
              training.data (default calibration.data)
              search.generations (200), search.offspring (16), search.seed (0), search.learning-rate (1e-5),
              search.fitness (kl: KL to the dense model after a candidate's training; nll: its next-token loss)
              search.stages  survivors@fitnessTokens:trainingTokens list
                             (default 8@1024:10000,4@2048:50000,2@4096:100000,1@8192:200000)
              post-training.tokens (100000), post-training.objective lm|distill, post-training.learning-rate (1e-4),
              post-training.batch-size (4), post-training.checkpoint-every (50 steps)
              heldout.data, heldout.seq-len, heldout.max-tokens; final.tokens (KL tokens, default min(pool, 65536));
              final.validation-tokens (default 4096: the calibration text's tail, kept out of search and
                post-training; the post-trained uniform model is returned instead if it scores lower there, on the
                fitness's metric; 0: off)
              final.heldout-tokens (0: the calibration text's tokens before the validation tail, also kept out of
                search and post-training; both post-trained models' heldout_tail_perplexity is measured there)

            Example:
              deploy/evocompress darwin --config conf/darwin-50.yaml
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) {
        DarwinSettings settings = DarwinSettings.from(JobCommands.config(args));
        ObjectNode written = JobCommands.onSpark("darwin", settings.output(), sc -> DarwinJob.run(sc, settings, console.lines()));
        ObjectNode result = JobCommands.summary(name(), settings.output(), written.get("result").get("kl_divergence").asDouble(),
            written.get("result").get("perplexity").asDouble());
        result.put("parameters", written.get("result").get("parameters").asLong());
        JobCommands.baseline(result, "uniform", written.get("baselines").get("uniform").get("kl_divergence").asDouble(),
            written.get("baselines").get("uniform").get("perplexity").asDouble());
        result.put("dense_perplexity", written.get("dense").get("perplexity").asDouble());
        result.put("model", settings.output() + "/model");
        result.put("seconds", console.elapsedSeconds());
        return result;
    }
}
