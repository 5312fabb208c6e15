package io.evocompress.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.report.ScheduleReport;
import io.evocompress.schedule.ScheduleJob;
import io.evocompress.schedule.ScheduleJobSettings;

import java.util.Set;

/** {@code evocompress schedule --config FILE.yaml [--set key=value ...]}: the layer-wise sparsity scheduler. */
public final class ScheduleCommand implements Command {
    @Override
    public String name() {
        return "schedule";
    }

    @Override
    public String summary() {
        return "layer-wise sparsity scheduler: per-layer SparseGPT sparsities from error estimates, optionally with INT4";
    }

    @Override
    public Set<String> options() {
        return Set.of("config", "set");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress schedule --config FILE.yaml [--set key=value ...]

            The layer-wise sparsity scheduler (ALGORITHMS.md section 4): per-layer SparseGPT error estimates at
            the target (level 0 of the variant database, built or reused), log-level clustering into K levels
            mapped onto [min, max] (higher error, lower sparsity), shifted so the parameter-weighted mean is the
            target to the weight; then every layer pruned with SparseGPT to exactly its scheduled zeros
            (optionally jointly with 4-bit GPTQ, one pass), one Spark task per layer. Writes OUTPUT/result.json
            (KL on calibration tokens and held-out perplexity of the scheduler, uniform SparseGPT and OWL, same
            compressor, same tokens), profile.txt, profiles/, report.html, levels.svg, errors.svg, and
            variants/ (the compressed layers; `evocompress export --result OUTPUT` writes the checkpoint).
            An existing OUTPUT/variants is replaced.

            Settings (YAML; --set key=value overrides any of them by its dotted key):
              model, output, device     as in search
              target                    mean sparsity in (0, 1), exact to the weight
              calibration.*             data, sequences (64), seq-len, seed, shards, batch-size (as in build-db)
              database.path             the variant database with the error estimates (built if missing)
              database.max-level        levels the database holds (default 0: the probe only; 8 shares a search's)
              database.delta, database.dampening, database.block-size, database.value-bytes
              heldout.data, heldout.seq-len, heldout.max-tokens
              scheduler.clusters        K (default 10); scheduler.granularity layer | block (default layer)
              scheduler.cap             highest sparsity of any layer (default 0.99)
              scheduler.error-floor     errors below it are raised to it before log10 (default 1e-30)
              scheduler.error-measure   relative (E_l / the layer's dense output energy, default), total (E_l) or per-weight (E_l / numel)
              scheduler.range           auto (default: tries scheduler.range-widths, default [0, 0.01, 0.02, 0.05, 0.1, 0.2],
                                        centred on the target, by calibration KL) or [min, max] (the paper's: [0.6, 0.8] at 70%;
                                        warns when it scores worse than uniform)
              quantization.bits         4: joint SparseGPT + GPTQ (asymmetric min-max); absent: pruning only
              quantization.group-size   columns per group (default 128, clamped to the layer)
              evaluation.batch-size (8), evaluation.tokens (calibration tokens KL is measured on, default min(pool, 65536))
              evaluation.residency, evaluation.device-memory   the calibration pass, as in build-db
              baseline.owl.lambda (0.08), baseline.owl.m (5)

            Examples:
              deploy/evocompress schedule --config conf/schedule-70.yaml
              deploy/evocompress schedule --config conf/schedule-70.yaml --set 'scheduler.range=[0.6, 0.8]'
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) {
        ScheduleJobSettings settings = ScheduleJobSettings.from(JobCommands.config(args));
        ScheduleJob.Prepared prepared = ScheduleJob.prepare(settings);
        console.progress("schedule, target %s%s, on %s: %d layers, range %s; pool %d x %d tokens", settings.target(),
            settings.quantized() ? " + " + settings.bits() + "-bit" : "", settings.model(), prepared.db().layers().size(),
            settings.autoRange() ? "auto" : settings.range(), prepared.pool().size(), settings.seqLen());
        ScheduleJob.Outcome outcome = JobCommands.onSpark("schedule", settings.output(),
            sc -> ScheduleJob.run(sc, prepared, console.lines()));
        ObjectNode written = ScheduleReport.write(outcome);
        ObjectNode result = JobCommands.summary(name(), settings.output(), outcome.result().kl(), outcome.result().perplexity());
        result.set("range", written.path("scheduler").path("range"));
        result.put("mean_sparsity", written.path("totals").path("mean_sparsity").asDouble());
        for (ScheduleJob.Measured b : new ScheduleJob.Measured[] {outcome.uniform(), outcome.owl()}) {
            JobCommands.baseline(result, b.name(), b.kl(), b.perplexity());
        }
        result.put("dense_perplexity", outcome.densePerplexity());
        result.put("seconds", console.elapsedSeconds());
        result.put("report", settings.output() + "/report.html");
        return result;
    }
}
