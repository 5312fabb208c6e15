package io.evocompress.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.config.JobConfig;
import io.evocompress.fs.HadoopFiles;
import io.evocompress.plan.Planner;

import java.util.Set;

/** {@code evocompress plan}: what a configuration will need, from config.json alone, before any work. */
final class PlanCommand implements Command {

    @Override
    public String name() {
        return "plan";
    }

    @Override
    public String summary() {
        return "what a build-db/search/schedule/darwin configuration needs (bytes, memory, forwards, hours), from config.json";
    }

    @Override
    public Set<String> options() {
        return Set.of("config", "set", "command");
    }

    @Override
    public String help() {
        return """
            Usage: evocompress plan --config FILE.yaml [--set key=value ...] [--command NAME] [--json]

            Plans a build-db, search, schedule or darwin configuration before any work, from the model's
            config.json alone (no weights, no text needed; a finished database's manifest.json is used when
            there is one): the bytes the database build writes, build-db's widest layer task, the peak device
            and host memory of a candidate-evaluation task (resident: the whole model and the candidate on the
            device, as the search runs today; streamed: one block's weights and the variants in use plus the
            activations, the block-streamed design), the block forwards per generation with and without prefix
            sharing (predicted from the search's own mutation distribution), and hours per stage for a device
            of a given FLOP rate and bandwidth. The configuration is checked as the command itself checks it.

              --config FILE    the command's YAML settings (conf/*.yaml; conf/models/*.yaml for large models)
              --set key=value  override a setting by dotted key (repeatable), plan.* included
              --command NAME   build-db, search, schedule or darwin (default: told from the settings)
              --json           print the result as one JSON object on the last line of stdout

            Settings (besides the command's own):
              plan.device-flops      FLOP/s of one device (default 989e12: an H100 SXM's dense bf16 peak)
              plan.device-bandwidth  bytes/s of its memory (default 3.35e12: its HBM3)
              plan.dtype             bfloat16 (default: a GPU task), float16 or float32 (a CPU task)
              plan.samples           generations drawn to predict prefix sharing (default 400)
              plan.seed              their seed (default 0)

            Output fields: database_bytes (variants + hessians + records), database_variant_bytes,
            database_hessian_bytes, layer_task_heap_bytes, layer_task_engine_bytes, resident_device_bytes,
            resident_host_bytes, streamed_device_bytes, streamed_host_bytes, block_forwards_per_generation,
            naive_block_forwards_per_generation, per_stage, hours (calibration, database, search, final, total).

            Example:
              deploy/evocompress plan --config conf/models/llama-3-70b-sparsity.yaml
            """;
    }

    @Override
    public ObjectNode run(Args args, Console console) {
        JobConfig config = JobConfig.load(args.required("config"), args.all("set"), HadoopFiles.defaultConf());
        ObjectNode plan = Planner.plan(config, args.get("command").orElse(null));
        ObjectNode result = Main.newResult(name());
        result.put("config", args.required("config"));
        result.setAll(plan);
        return result;
    }
}
