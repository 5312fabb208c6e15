package io.evocompress.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.evocompress.EvocompressException;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code evocompress <command> [options]}. Progress goes to stderr; the result to stdout, as
 * {@code key: value} lines or, with {@code --json}, as one JSON object on the last line. Exit
 * status: 0 done, 1 failed (bad input, with a message saying what and where), 2 wrong command line.
 */
public final class Main {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Command> commands = new LinkedHashMap<>();

    public Main() {
        for (Command c : List.of(new EvalCommand(), new BuildDbCommand(), new CompressCommand(), new SearchCommand(), new ScheduleCommand(), new ExportCommand(),
                new SynthModelCommand(), new BenchCommand(), new TrainDemoModelCommand(), new DemoCommand(), new DarwinCommand(), new PlanCommand())) {
            commands.put(c.name(), c);
        }
    }

    public static void main(String[] argv) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        int status = new Main().run(argv, System.out, System.err);
        // The command has said everything; what Spark's stopping background threads may still print
        // (e.g. a RejectedExecutionException from a pool shut down under a failed job's callback) is
        // not the user's business.
        System.out.flush();
        System.err.flush();
        System.setErr(new PrintStream(java.io.OutputStream.nullOutputStream()));
        System.exit(status);
    }

    /** Runs one command line; returns the exit status. */
    public int run(String[] argv, PrintStream out, PrintStream err) {
        if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h") || argv[0].equals("help")) {
            out.print(overview());
            return argv.length == 0 ? 2 : 0;
        }
        Command command = commands.get(argv[0]);
        if (command == null) {
            err.println("evocompress: unknown command '" + argv[0] + "'. Commands: " + String.join(", ", commands.keySet()));
            return 2;
        }
        String[] rest = Arrays.copyOfRange(argv, 1, argv.length);
        if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
            out.print(command.help());
            return 0;
        }
        Set<String> flags = new HashSet<>(command.flags());
        flags.add("json");
        try {
            Args args = Args.parse(command.name(), command.subcommands(), rest, command.options(), flags);
            ObjectNode result = command.run(args, new Console(command.name(), err));
            print(result, args.flag("json"), out);
            return 0;
        } catch (Args.UsageException e) {
            err.println("evocompress " + command.name() + ": " + e.getMessage());
            err.println("Run 'evocompress " + command.name() + " --help' for its options.");
            return 2;
        } catch (EvocompressException e) {
            err.println("evocompress " + command.name() + ": error: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            Args.UsageException usage = findCause(e, Args.UsageException.class);
            if (usage != null) {
                err.println("evocompress " + command.name() + ": " + usage.getMessage());
                err.println("Run 'evocompress " + command.name() + " --help' for its options.");
                return 2;
            }
            EvocompressException cause = findCause(e, EvocompressException.class);
            String message = cause != null ? cause.getMessage() : remoteMessage(e);
            if (message != null) {
                err.println("evocompress " + command.name() + ": error: " + message);
            } else {
                err.println("evocompress " + command.name() + ": failed: " + causeChain(e));
                if (System.getenv(STACK_TRACE_ENV) != null) {
                    e.printStackTrace(err);
                } else {
                    err.println("(an unexpected failure: rerun with " + STACK_TRACE_ENV + "=1 for the stack trace to report)");
                }
            }
            return 1;
        }
    }

    /** Set in the environment to print the stack trace of an unexpected failure. */
    static final String STACK_TRACE_ENV = "EVOCOMPRESS_STACKTRACE";
    private static final String REMOTE_MARKER = EvocompressException.class.getName() + ": ";

    /** Errors raised inside Spark tasks reach the driver wrapped; find the user-facing one. */
    private static <T extends Throwable> T findCause(Throwable e, Class<T> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    /**
     * A task's failure that reached the driver only as text (Spark's "Lost task ...: CLASS: MESSAGE" when
     * the exception itself did not travel): the message of the {@link EvocompressException} in it.
     */
    static String remoteMessage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            int at = m == null ? -1 : m.indexOf(REMOTE_MARKER);
            if (at >= 0) {
                String rest = m.substring(at + REMOTE_MARKER.length());
                int end = rest.indexOf("\n\tat ");
                return (end < 0 ? rest : rest.substring(0, end)).strip();
            }
        }
        return null;
    }

    /**
     * One line for an unexpected failure: each cause's class and first message line, outermost Spark
     * wrappers (whose messages repeat the cause with a stack trace) left out.
     */
    static String causeChain(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getClass().getName().startsWith("org.apache.spark.") && t.getCause() != null) {
                continue;
            }
            String m = t.getMessage() == null ? "" : t.getMessage().lines().findFirst().orElse("");
            if (sb.length() > 0) {
                sb.append("; caused by ");
            }
            sb.append(t.getClass().getSimpleName()).append(m.isEmpty() ? "" : ": " + m);
        }
        return sb.toString();
    }

    private static void print(ObjectNode result, boolean json, PrintStream out) {
        if (json) {
            out.println(result.toString());
        } else {
            for (Map.Entry<String, JsonNode> e : result.properties()) {
                JsonNode v = e.getValue();
                out.println(e.getKey() + ": " + (v.isTextual() ? v.asText() : v.toString()));
            }
        }
        out.flush();
    }

    String overview() {
        StringBuilder sb = new StringBuilder();
        sb.append("evocompress: per-layer dynamic compression of large language models (EvoPress, layer-wise sparsity\n")
            .append("scheduling, DarwinLM) on Spark and DJL.\n\n")
            .append("Usage: evocompress <command> [options]   (evocompress <command> --help for its options)\n\nCommands:\n");
        for (Command c : commands.values()) {
            sb.append(String.format("  %-18s %s%n", c.name(), c.summary()));
        }
        sb.append("\nEvery command prints progress on stderr and, with --json, one JSON object as the last line of stdout.\n");
        return sb.toString();
    }

    static ObjectNode newResult(String command) {
        ObjectNode node = JSON.createObjectNode();
        node.put("command", command);
        return node;
    }
}
