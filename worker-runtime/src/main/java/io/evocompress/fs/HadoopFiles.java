package io.evocompress.fs;

import io.evocompress.EvocompressException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * Paths on any Hadoop file system ({@code file:}, {@code hdfs:}, {@code s3a:} with its jars present).
 * A location without a scheme is a local path.
 */
public final class HadoopFiles {
    private HadoopFiles() {
    }

    /** A default Hadoop configuration (core-site.xml etc. from the classpath, if any). */
    public static Configuration defaultConf() {
        return new Configuration();
    }

    /** Turns a user-given location into a qualified Hadoop path; plain paths become absolute {@code file:} paths. */
    public static Path path(String location) {
        if (location == null || location.isBlank()) {
            throw new EvocompressException("Empty path: give a directory or file as a local path or a URI (file:, hdfs:, s3a:).");
        }
        URI uri = URI.create(location.replace(" ", "%20"));
        if (uri.getScheme() == null) {
            // Not new Path(nioPath.toUri()): toUri() ends an existing directory with '/', which leaves
            // the Hadoop path an empty name and the directory itself as its parent.
            return new Path("file", null, java.nio.file.Path.of(location).toAbsolutePath().normalize().toString());
        }
        return new Path(location);
    }

    public static FileSystem fileSystem(Path path, Configuration conf) {
        try {
            return path.getFileSystem(conf);
        } catch (IOException e) {
            throw new EvocompressException("Cannot open the file system of " + path + ": " + e.getMessage()
                + " (for s3a: put hadoop-aws and its SDK on the classpath; for hdfs: check fs.defaultFS and that the name node runs)", e);
        }
    }

    /** Reads a small text file (a config, a tokenizer) whole; a missing file is a clear error. */
    public static String readUtf8(FileSystem fs, Path file, String what) {
        try (FSDataInputStream in = fs.open(file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (FileNotFoundException e) {
            throw new EvocompressException("Missing " + what + ": " + file + " does not exist.", e);
        } catch (IOException e) {
            throw new EvocompressException("Cannot read " + what + " " + file + ": " + e.getMessage(), e);
        }
    }

    public static boolean exists(FileSystem fs, Path path) {
        try {
            return fs.exists(path);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot check whether " + path + " exists", e);
        }
    }

    public static long length(FileSystem fs, Path file) {
        try {
            return fs.getFileStatus(file).getLen();
        } catch (FileNotFoundException e) {
            throw new EvocompressException("Missing file: " + file + " does not exist.", e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot stat " + file, e);
        }
    }
}
