package io.evocompress.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.evopress.SearchJob;
import io.evocompress.evopress.SearchSettings;
import io.evocompress.report.SearchReport;
import io.evocompress.search.SearchMethod;

import java.util.Set;

/** {@code evocompress search --config FILE.yaml [--set key=value ...] [--method brute-force] [--resume]}. */
public final class SearchCommand implements Command {
    @Override
    public String name() {
        return "search";
    }

    @Override
    public String summary() {
        return "EvoPress: evolutionary search over per-layer levels (sparsity, bits, depth), with baselines";
    }

    @Override
    public Set<String> options() {
        return Set.of("config", "set", "method");
    }

    @Override
    public Set<String> flags() {
        return Set.of("resume");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress search --config FILE.yaml [--set key=value ...] [--method evopress|brute-force] [--resume]

            Searches, per layer, how hard each part of the model can be compressed (ALGORITHMS.md section 3):
            builds or reuses the variant database, runs EvoPress with multi-step selection and KL fitness on
            Spark executors, measures the result and the baselines on the same tokens, and writes OUTPUT/
            result.json, profile.txt, evopress-profile.txt (the EvoPress reference code's format: sparsity
            '<module>: <level>', bits '<module>: <bits>', depth one line per block none|attn|mlp|attn+mlp),
            profiles/<baseline>.txt, report.html, fitness.svg, levels.svg.
            The population is checkpointed to OUTPUT/state/ every generation: --resume continues a run that
            died and ends with the same result; it is refused, naming them, when settings that decide the result
            differ from the run's (search.generations may grow). --method brute-force scores every depth configuration.

            Settings (YAML; --set key=value overrides any of them by its dotted key):
              model                      dense checkpoint (any Hadoop file system)
              output                     output directory
              device                     auto | cpu | gpu | gpu:N (default auto: the task's GPU, else CPU)
              domain.kind                sparsity | bits | depth
              domain.target              sparsity in (0,1), average bits (e.g. 3 or 2.5), or fraction of blocks dropped
              domain.whole-blocks        depth: drop whole blocks instead of attention/MLP halves (default false)
              domain.tie                 bits: [qkv, gate_up] gives q/k/v and gate/up of a block one width each (what
                                         vLLM's fused layers need); a tied set moves as one unit (default: none)
              calibration.data           calibration text (plain lines or .jsonl); the fitness pool and the database's
                                         calibration (text or .jsonl, or a .safetensors file of token_ids taken as given)
              calibration.sequences      sequences in the pool (default 64)
              calibration.seq-len        tokens per sequence (default min(512, context))
              calibration.seed, calibration.shards, calibration.batch-size   as in build-db
              evaluation.residency, evaluation.device-memory   as in build-db, for the calibration pass, the
                                         dense perplexity and the candidates (streamed: a task's candidates
                                         together, block by block, shared prefixes once; same result)
              database.path              where the variant database lives (built if missing, reused if it matches)
              database.*                 build-db's compressor settings (max-level, delta, bits, group-size, ...)
              heldout.data               held-out text for the final perplexity
              heldout.seq-len, heldout.max-tokens
              search.preset              sparsity | quantization | depth | fast (default: the domain's, ALGORITHMS.md)
              search.generations, search.offspring, search.initial-candidates, search.initial-tokens
              search.stages              survivors@tokens list, e.g. "8@2048,2@16384,1@65536"
              search.seed                (default 0); search.fitness kl | topk-kl | ppl (default kl); search.top-k (512)
              search.batch-size          sequences per forward (default 8); search.candidates-per-task (default auto:
                                         streamed, a generation over the task slots; resident, 1)
              search.init                best (default: the best of uniform, OWL and the scheduler's profile, or
                                         ShortGPT for depth, on the first minibatch; never returns a worse one)
                                         | uniform (the paper's start) | scheduler (sparsity: the scheduler's profile)
                                         | profile-file (start from the EvoPress profile in search.init-file)
              search.init-file           with search.init: profile-file, e.g. another run's evopress-profile.txt
              search.selection-check     true: also score every stage's candidates on a second minibatch of the same
                                         size, from calibration text outside the pool, and count the stage's wrong
                                         choices (result.json selection_check; the result is unchanged; default false)
              baselines                  list of uniform, owl, scheduler (sparsity), random, shortgpt (depth)
                                         (default: uniform + owl for sparsity, uniform for bits, shortgpt + random for depth)
              baseline.random.candidates (default 32), baseline.owl.lambda (0.08), baseline.owl.m (5)
              final.tokens               calibration tokens the final KL is measured on (default min(pool, 65536))

            Examples:
              deploy/evocompress search --config conf/evopress-sparsity-70.yaml
              deploy/evocompress search --config conf/evopress-depth-25.yaml --method brute-force --set output=target/runs/bf
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) {
        SearchMethod method = SearchMethod.ofLabel(args.getOr("method", "evopress"));
        if (method == null) {
            throw new Args.UsageException("--method must be evopress or brute-force, but was '" + args.get("method").orElse("")
                + "'");
        }
        SearchSettings settings = SearchSettings.from(JobCommands.config(args));
        SearchJob.Prepared prepared = SearchJob.prepare(settings, method, args.flag("resume"));
        console.progress("%s search, target %s, on %s: %d units, %d generations x %d offspring, stages %s; pool %d x %d tokens",
            settings.domain(), settings.target(), settings.model(), prepared.domain().units(),
            prepared.search().preset().generations(), prepared.search().preset().offspring(), prepared.search().preset().stages(),
            prepared.pool().size(), settings.seqLen());
        SearchJob.Outcome outcome = JobCommands.onSpark("search", settings.output(),
            sc -> SearchJob.run(sc, prepared, method, console.lines()));
        SearchReport.write(outcome);
        ObjectNode result = JobCommands.summary(name(), settings.output(), outcome.result().kl(), outcome.result().perplexity());
        outcome.baselines().forEach(b -> JobCommands.baseline(result, b.name(), b.kl(), b.perplexity()));
        result.put("dense_perplexity", outcome.densePerplexity());
        result.put("generations", outcome.search().history().size());
        result.put("seconds", console.elapsedSeconds());
        result.put("report", settings.output() + "/report.html");
        return result;
    }
}
