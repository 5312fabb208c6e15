package io.evocompress.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.builddb.BuildDbJob;
import io.evocompress.builddb.BuildDbSettings;
import io.evocompress.config.JobConfig;
import io.evocompress.database.DatabaseManifest;
import io.evocompress.model.ModelReference;

import java.util.Set;

/** {@code evocompress build-db}: builds, resumes or reuses a variant database from a YAML configuration. */
final class BuildDbCommand implements Command {

    @Override
    public String name() {
        return "build-db";
    }

    @Override
    public String summary() {
        return "build the per-layer variant database (sparsity levels or bit widths) on Spark";
    }

    @Override
    public Set<String> options() {
        return Set.of("config", "set");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress build-db --config FILE.yaml [--set key=value ...] [--json]

            Builds a variant database: calibration Hessians of the dense model (one Spark task per calibration
            shard), then every compression level of every linear layer (one Spark task per block and input: the
            layers reading one input, e.g. q, k and v, from one factorisation of its H; the memory the widest
            task needs is printed first, and a build that cannot fit fails before it starts), each file written
            atomically with its SHA-256 in the layer's record,
            and manifest.json last. A build that died part-way resumes: layers whose record verifies are
            skipped. A rerun with the same inputs reuses everything.

              --config FILE    YAML settings (any Hadoop file system); see conf/build-db-*.yaml
              --set key=value  override a setting by dotted key, e.g. --set database.target=0.6 (repeatable)
              --json           print the result as one JSON object on the last line of stdout

            Settings:
              model                  checkpoint directory (local path or URI)
              output                 database root (local path or URI: file:, hdfs:, s3a:)
              device                 auto, cpu, gpu, gpu:N (default auto)
              calibration.data       calibration text (plain text or .jsonl), or a .safetensors file of token_ids
              calibration.sequences  random windows sampled from it (default 128)
              calibration.seq-len    tokens per window (default min(2048, context))
              calibration.seed       window sampling seed (default 0)
              calibration.shards     Spark tasks of the Hessian pass, fixed (default min(4, sequences))
              calibration.batch-size sequences per forward (default 8)
              calibration.hessian-dtype  float64 (default) or float32: how the Hessian files store H
                                     (accumulated in float64 either way; float32 halves hessians/)
              evaluation.residency   auto (default), resident or streamed: the calibration pass holds the whole
                                     model on the task's device, or one block at a time (same Hessians); auto
                                     streams when the float32 model exceeds evaluation.device-memory
              evaluation.device-memory  bytes (k/m/g/t suffixes) auto compares against (default: the device's free memory);
                                     also what the layer tasks' engine memory is checked against before the build
              database.domain        sparsity (SparseGPT) or bits (GPTQ) (default sparsity)
              database.target        sparsity: the target s in (0, 1)
              database.max-level     sparsity: L, levels -L..L (default 8)
              database.delta         sparsity: zeros per level step (default int(0.5 min(s, 1-s) / L * hidden^2))
              database.value-bytes   sparsity: 2 (fp16 values, default) or 4 (fp32)
              database.bits          bits: the bit widths = the levels (default [2, 3, 4, 5, 6])
              database.group-size    bits: columns per grid, clamped to the layer (default 128; 0 per channel)
              database.symmetric     bits: symmetric grids (default false)
              database.act-order     bits: descending diag H order (needs group-size 0; default false)
              database.dampening     lambda / mean(diag H) (default 0.01)
              database.block-size    OBS columns per block (default 128)

            Example:
              deploy/evocompress build-db --config conf/build-db-sparsity.yaml
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) {
        JobConfig config = JobCommands.config(args);
        config.requireOnly(BuildDbSettings.KEYS);
        ModelReference model = ModelReference.resolve(config.string("model"));
        BuildDbSettings settings = BuildDbSettings.from(config, model);
        BuildDbJob.Inputs inputs = BuildDbJob.prepare(settings, model);
        console.progress("model %s: %d blocks, %d layers; calibration %d x %d tokens in %d shards; %s",
            settings.model(), inputs.config().numLayers(), inputs.layers().size(), settings.sequences(), settings.seqLen(),
            settings.shards(), settings.compressor().toJson());
        BuildDbJob.Outcome outcome = JobCommands.onSpark("build-db", settings.output(),
            sc -> BuildDbJob.run(sc, inputs, console.lines()));
        DatabaseManifest m = outcome.manifest();
        ObjectNode result = Main.newResult(name());
        result.put("output", settings.output());
        result.put("database_id", m.databaseId());
        result.put("domain", m.domain());
        result.put("layers", m.layers().size());
        result.put("variants", m.totals().variants());
        result.put("layers_built", outcome.layersBuilt());
        result.put("layers_reused", outcome.layersReused());
        result.put("dense_fp16_bytes", m.totals().denseFp16Bytes());
        ArrayNode levels = result.putArray("levels");
        for (DatabaseManifest.LevelTotal t : m.totals().levels()) {
            ObjectNode l = levels.addObject();
            l.put("level", t.level());
            l.put("layers", t.layers());
            l.put("bytes", t.bytes());
            l.put("fraction_of_dense_fp16", t.fractionOfDense());
        }
        result.put("seconds", console.elapsedSeconds());
        return result;
    }
}
