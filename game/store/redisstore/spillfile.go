package redisstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The spill file takes the writes Redis cannot (see spill.go). Its format:
//
//	"ZGSPILL1"                       8 bytes, once
//	record*:
//	  length  uint32 little-endian   of payload
//	  crc     uint32 little-endian   CRC-32C of payload
//	  payload                         one write (encodeOp)
//
// Records are appended in the order of the writes and fsynced before they
// count as durable. A record torn by a crash mid-append (or damaged on disk)
// fails its length or checksum: it and everything after it are dropped, and
// the whole records before it are replayed.

const spillMagic = "ZGSPILL1"

// maxSpillRecord bounds one record's payload: a document (64 KiB by default,
// at most what DocLimits allows) and its names fit well within it. A larger
// length is a torn or damaged record, not an allocation to make.
const maxSpillRecord = 64 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errTorn is a scan's finding: the file ends in a torn or damaged record.
var errTorn = errors.New("redisstore: spill file torn")

// spillFile is the open file. Its methods are not safe for concurrent use:
// the store serializes them (appends under Store.mu, reads by the flusher of
// a range appends no longer touch).
type spillFile struct {
	path   string
	f      *os.File
	unlock func() // releases the file's lock
	size   int64  // bytes of whole records, header included
}

// openSpill opens (creating) the file at path and locks it, so two
// processes configured alike do not interleave records.
func openSpill(path string) (*spillFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("redisstore: spill file %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("redisstore: spill file: %w", err)
	}
	unlock, err := lockFile(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("redisstore: spill file %s is in use by another process (set Redis.SpillFile to a path of its own): %w", path, err)
	}
	sf := &spillFile{path: path, f: f, unlock: unlock}
	st, err := f.Stat()
	if err != nil {
		sf.close()
		return nil, fmt.Errorf("redisstore: spill file: %w", err)
	}
	if st.Size() == 0 {
		if err := sf.reset(); err != nil {
			sf.close()
			return nil, err
		}
	}
	return sf, nil
}

func (sf *spillFile) close() {
	sf.unlock()
	_ = sf.f.Close()
}

// reset empties the file to its header and syncs it.
func (sf *spillFile) reset() error {
	if err := sf.f.Truncate(0); err != nil {
		return fmt.Errorf("redisstore: spill file: %w", err)
	}
	if _, err := sf.f.WriteAt([]byte(spillMagic), 0); err != nil {
		return fmt.Errorf("redisstore: spill file: %w", err)
	}
	if err := sf.f.Sync(); err != nil {
		return fmt.Errorf("redisstore: spill file: %w", err)
	}
	sf.size = int64(len(spillMagic))
	return nil
}

// empty reports whether the file holds no record.
func (sf *spillFile) empty() bool { return sf.size <= int64(len(spillMagic)) }

// appendRecords writes payloads as records at the end and syncs the file;
// on error the file is cut back to its whole records.
func (sf *spillFile) appendRecords(buf []byte) error {
	if _, err := sf.f.WriteAt(buf, sf.size); err != nil {
		_ = sf.f.Truncate(sf.size)
		return fmt.Errorf("redisstore: writing the spill file: %w", err)
	}
	if err := sf.f.Sync(); err != nil {
		_ = sf.f.Truncate(sf.size)
		return fmt.Errorf("redisstore: syncing the spill file: %w", err)
	}
	sf.size += int64(len(buf))
	return nil
}

// appendRecord frames payload as a record onto buf.
func appendRecord(buf, payload []byte) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(payload)))
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(payload, crcTable))
	return append(buf, payload...)
}

// scan reads the records from off to the end, calling fn with each
// payload (valid only during the call) and the offset after it, until fn
// returns false. It returns the offset of the first byte not read as a
// whole record, and errTorn (wrapped, with the offset) when bytes follow
// that do not make one.
func (sf *spillFile) scan(off int64, fn func(payload []byte, next int64) bool) (int64, error) {
	if off == 0 {
		var magic [len(spillMagic)]byte
		if _, err := sf.f.ReadAt(magic[:], 0); err != nil || string(magic[:]) != spillMagic {
			return 0, fmt.Errorf("%w: %s does not start with %q", errTorn, sf.path, spillMagic)
		}
		off = int64(len(spillMagic))
	}
	r := io.NewSectionReader(sf.f, off, 1<<62)
	var head [8]byte
	var payload []byte
	for {
		n, err := io.ReadFull(r, head[:])
		if n == 0 && errors.Is(err, io.EOF) {
			return off, nil
		}
		if err != nil {
			return off, fmt.Errorf("%w at byte %d: a record's header is cut short", errTorn, off)
		}
		size := binary.LittleEndian.Uint32(head[:4])
		if size > maxSpillRecord {
			return off, fmt.Errorf("%w at byte %d: a record claims %d bytes", errTorn, off, size)
		}
		if cap(payload) < int(size) {
			payload = make([]byte, size)
		}
		payload = payload[:size]
		if _, err := io.ReadFull(r, payload); err != nil {
			return off, fmt.Errorf("%w at byte %d: a record of %d bytes is cut short", errTorn, off, size)
		}
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(head[4:]) {
			return off, fmt.Errorf("%w at byte %d: a record fails its checksum", errTorn, off)
		}
		off += 8 + int64(size)
		if !fn(payload, off) {
			return off, nil
		}
	}
}
