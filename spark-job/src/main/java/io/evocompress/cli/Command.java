package io.evocompress.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Set;

/** One {@code evocompress <command>}: its options, its help, and what it does. */
public interface Command {
    String name();

    /** One line for the command list. */
    String summary();

    /** The full --help text: synopsis, options with defaults, an example. */
    String help();

    /** Options that take a value (without --). */
    Set<String> options();

    /**
     * Names of the sub-commands this command takes as its first argument ({@code bench forward}),
     * or empty for none; {@link Args#subcommand()} holds the one given.
     */
    default Set<String> subcommands() {
        return Set.of();
    }

    /** Options that take none (without --); --json and --help are added by {@link Main}. */
    default Set<String> flags() {
        return Set.of();
    }

    /**
     * Runs the command; progress goes to {@code console.progress}. Returns the result whose fields
     * are printed (as one JSON line with --json).
     */
    ObjectNode run(Args args, Console console) throws Exception;
}
