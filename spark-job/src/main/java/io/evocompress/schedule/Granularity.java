package io.evocompress.schedule;

/**
 * What shares one scheduled sparsity. {@code LAYER}: every linear layer is clustered and scheduled on
 * its own. {@code BLOCK}: the linear layers of a decoder block share one sparsity; the block's error
 * is the <em>sum</em> of its layers' errors (the block's total OBS loss estimate, which is what the
 * layer estimates add up to under the dense-input assumption) and its size the sum of their sizes.
 */
public enum Granularity {
    LAYER, BLOCK
}
