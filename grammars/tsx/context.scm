; inherits: typescript
; TSX parses like TypeScript plus JSX; nothing to add for context.
