package io.evocompress.cli;

import io.evocompress.EvocompressException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Command-line options of one command: {@code --name value}, {@code --name=value} and boolean
 * {@code --flag}s. Repeatable options (e.g. {@code --set}) keep every value. Unknown options are an
 * error that lists the known ones.
 */
public final class Args {
    private final String command;
    private final String subcommand;
    private final Map<String, List<String>> values = new LinkedHashMap<>();

    private Args(String command, String subcommand) {
        this.command = command;
        this.subcommand = subcommand;
    }

    /**
     * Parses a command line whose first argument is one of {@code subcommands} (or, when that set is
     * empty, has none).
     */
    public static Args parse(String command, Set<String> subcommands, String[] argv, Set<String> options, Set<String> flags) {
        if (subcommands.isEmpty()) {
            return parse(command, argv, options, flags);
        }
        if (argv.length == 0 || !subcommands.contains(argv[0])) {
            throw new UsageException("'" + command + "' needs one of: " + String.join(", ", new TreeSet<>(subcommands))
                + (argv.length == 0 ? "" : " (got '" + argv[0] + "')"));
        }
        Args parsed = parse(command + " " + argv[0], java.util.Arrays.copyOfRange(argv, 1, argv.length), options, flags);
        Args args = new Args(command, argv[0]);
        args.values.putAll(parsed.values);
        return args;
    }

    /** The sub-command given, or null for commands without any. */
    public String subcommand() {
        return subcommand;
    }

    /**
     * @param options names (without --) that take a value
     * @param flags   names that take none
     */
    public static Args parse(String command, String[] argv, Set<String> options, Set<String> flags) {
        Args args = new Args(command, null);
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (!a.startsWith("--")) {
                throw new UsageException("Unexpected argument '" + a + "' for '" + command + "'; options start with --.");
            }
            String name = a.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (flags.contains(name)) {
                if (value != null) {
                    throw new UsageException("--" + name + " takes no value");
                }
                args.values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
            } else if (options.contains(name)) {
                if (value == null) {
                    if (i + 1 >= argv.length) {
                        throw new UsageException("--" + name + " needs a value");
                    }
                    value = argv[++i];
                }
                args.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
            } else {
                Set<String> known = new TreeSet<>(options);
                known.addAll(flags);
                throw new UsageException("Unknown option --" + name + " for '" + command + "'. Options: --"
                    + String.join(", --", known));
            }
        }
        return args;
    }

    public boolean flag(String name) {
        return values.containsKey(name);
    }

    public Optional<String> get(String name) {
        List<String> v = values.get(name);
        return v == null ? Optional.empty() : Optional.of(v.get(v.size() - 1));
    }

    public List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    public String required(String name) {
        return get(name).orElseThrow(() -> new UsageException("'" + command + "' needs --" + name));
    }

    public String getOr(String name, String defaultValue) {
        return get(name).orElse(defaultValue);
    }

    public int intOr(String name, int defaultValue) {
        return get(name).map(v -> parseInt(name, v)).orElse(defaultValue);
    }

    public int requiredInt(String name) {
        return parseInt(name, required(name));
    }

    public long longOr(String name, long defaultValue) {
        return get(name).map(v -> {
            try {
                return Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + " must be an integer, but was '" + v + "'");
            }
        }).orElse(defaultValue);
    }

    private static int parseInt(String name, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, but was '" + v + "'");
        }
    }

    /** A wrong command line: printed with the command's usage, exit status 2. */
    public static final class UsageException extends EvocompressException {
        private static final long serialVersionUID = 1L;

        public UsageException(String message) {
            super(message);
        }
    }
}
