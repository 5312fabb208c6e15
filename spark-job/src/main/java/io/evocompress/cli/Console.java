package io.evocompress.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Where a command talks: progress lines on stderr, each stamped with the seconds since the command
 * started, so long work can be watched; results on stdout.
 */
public final class Console {
    private final PrintStream err;
    private final long startNanos = System.nanoTime();
    private final String command;

    public Console(String command, PrintStream err) {
        this.command = command;
        this.err = err;
    }

    public void progress(String format, Object... args) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        err.printf(Locale.ROOT, "[%s %7.1fs] %s%n", command, seconds, String.format(Locale.ROOT, format, args));
        err.flush();
    }

    /** A consumer of progress lines (what the jobs report through), each printed as {@link #progress} does. */
    public java.util.function.Consumer<String> lines() {
        return line -> progress("%s", line);
    }

    public double elapsedSeconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
