"""One completion: snapshot, window, context, post-processing, syntax gate, and the request's life on the loop."""
