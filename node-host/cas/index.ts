// The content-addressed store: chunking, manifests, convergent encryption, pins and cache, and the
// share / assemble API the transfer layer and the CLI call.

export { contentDefinedChunker, defaultChunker, fixedSizeChunker, type Chunker } from "./chunker";
export { ContentStore, DEFAULT_CACHE_LIMIT_BYTES, type ContentStoreOptions, type ObjectKind, type PinReason, type PutOptions, type StoredObjectInfo } from "./content-store";
export { ConvergentKeys, loadOrCreateNodeSecret } from "./convergent-crypto";
export { CasError, type CasErrorCode } from "./errors";
export { decodeManifest, decodeManifestHeader, encodeManifest, MAX_MANIFEST_BYTES, type EncryptionMode, type Manifest, type ManifestChunk } from "./manifest";
export { ObjectStore, isObjectId, type PutResult } from "./object-store";
export { isIdOf, objectIdOf, sha256 } from "./object-hash";
export { formatShareLink, parseShareLink, type ShareLink } from "./share-link";
export { shareFile, type ShareOptions, type ShareResult } from "./share";
export { assembleFile, missingChunks, openManifest, readContent } from "./assemble";
export { openChunk } from "./chunk-plaintext";
export { OutputFile, type AssembleOptions, type AssembleTarget } from "./output-file";
