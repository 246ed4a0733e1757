package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/proto"
)

// A backup is Badger's backup stream wrapped so that a restore can tell a
// whole backup from anything else before it writes a byte:
//
//	"moderator backup 1\n"            magic and format version
//	{ <len uint32 BE> <len bytes> }   Badger's stream, in chunks of 1..maxChunk bytes
//	<0 uint32>                        end of the chunks
//	<SHA-256 of the chunks' bytes>
//
// Badger's own stream has no end marker: cut at a record boundary it loads
// without complaint, and on garbage its Load can panic on a length it reads
// from the garbage.
const backupMagic = "moderator backup 1\n"

// maxChunk bounds a chunk, so a corrupt length cannot ask for a huge buffer.
const maxChunk = 1 << 20

// ErrBadBackup is returned for a backup file that is not whole: another
// file, a truncated or corrupted backup.
var ErrBadBackup = errors.New("not a whole moderator backup")

// Backup writes a consistent snapshot of the whole database to w, while the
// daemon keeps running.
func (s *Store) Backup(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(backupMagic); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	cw := &chunkWriter{w: bw, sum: sha256.New()}
	if _, err := s.db.Backup(cw, 0); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := cw.end(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// VerifyBackup reads a backup through to its end and checks it is whole,
// without loading it.
func VerifyBackup(r io.Reader) error {
	cr, err := openBackup(r)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return err
	}
	return nil
}

// Restore loads a backup into the store. It is meant for an empty data
// directory with no daemon running. A backup found not to be whole midway
// has had its earlier part loaded: check a file with VerifyBackup first, or
// DropAll after a failure.
//
// The entries go in through ordinary write batches rather than Badger's
// Load, which leaves the database unable to commit or close when its
// stream fails midway.
func (s *Store) Restore(r io.Reader) error {
	cr, err := openBackup(r)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	var size [8]byte
	for {
		// Badger's backup stream: a little-endian length, then a KVList.
		if _, err := io.ReadFull(cr, size[:]); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("restore: %w", cutShort(err))
		}
		n := binary.LittleEndian.Uint64(size[:])
		if n > maxList {
			return fmt.Errorf("restore: corrupt after %d bytes (a list of %d bytes): %w", cr.read, n, ErrBadBackup)
		}
		buf := make([]byte, n) // not reused: the batch keeps the slices
		if _, err := io.ReadFull(cr, buf); err != nil {
			return fmt.Errorf("restore: %w", cutShort(err))
		}
		var list pb.KVList
		if err := proto.Unmarshal(buf, &list); err != nil {
			return fmt.Errorf("restore: corrupt after %d bytes: %v: %w", cr.read, err, ErrBadBackup)
		}
		for _, kv := range list.Kv {
			e := badger.NewEntry(kv.Key, kv.Value)
			e.ExpiresAt = kv.ExpiresAt
			if len(kv.UserMeta) > 0 {
				e.UserMeta = kv.UserMeta[0]
			}
			if err := wb.SetEntry(e); err != nil {
				return fmt.Errorf("restore: %w", err)
			}
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// The restored queue may hold numbers above this store's lease.
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if err := s.queueSeq.Release(); err != nil {
		return fmt.Errorf("restore: release queue sequence: %w", err)
	}
	allocated, seq, err := leaseQueueSeq(s.db)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	s.queueSeq, s.allocated = seq, max(s.allocated, allocated)
	s.notHandedOff(allocated) // the restored entries are only on disk
	q, h, err := s.countWork()
	if err != nil {
		return fmt.Errorf("restore: count work: %w", err)
	}
	s.queued.Store(q)
	s.held.Store(h)
	return nil
}

// maxList bounds one list of Badger's stream; its backups write lists of a
// few MiB at most.
const maxList = 256 << 20

// cutShort says that a stream ended inside a record: its chunks were whole
// and checked, so the backup was written cut short.
func cutShort(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the backup ends inside a record: %w", ErrBadBackup)
	}
	return err
}

// DropAll removes everything from the store: what a failed restore into an
// empty store leaves behind.
func (s *Store) DropAll() error {
	if err := s.db.DropAll(); err != nil {
		return fmt.Errorf("drop all: %w", err)
	}
	s.queued.Store(0)
	s.held.Store(0)
	return nil
}

// Empty reports whether the store holds no records or targets.
func (s *Store) Empty() bool {
	empty := true
	_ = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if k := it.Item().Key(); len(k) > 0 && k[0] != nsSeq {
				empty = false
				return nil
			}
		}
		return nil
	})
	return empty
}

// chunkWriter frames what Badger writes into chunks and hashes it.
type chunkWriter struct {
	w   io.Writer
	sum hash.Hash
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		part := p[:min(len(p), maxChunk)]
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(part)))
		if _, err := c.w.Write(hdr[:]); err != nil {
			return n, err
		}
		if _, err := c.w.Write(part); err != nil {
			return n, err
		}
		c.sum.Write(part)
		n += len(part)
		p = p[len(part):]
	}
	return n, nil
}

func (c *chunkWriter) end() error {
	if _, err := c.w.Write(make([]byte, 4)); err != nil {
		return err
	}
	_, err := c.w.Write(c.sum.Sum(nil))
	return err
}

// openBackup checks a backup's magic and returns a reader of the Badger
// stream inside it, which fails with ErrBadBackup unless the stream ends
// with its end marker and checksum.
func openBackup(r io.Reader) (*chunkReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head := make([]byte, len(backupMagic))
	n, err := io.ReadFull(br, head)
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return nil, fmt.Errorf("the file is empty: %w", ErrBadBackup)
	case !bytes.Equal(head[:n], []byte(backupMagic[:n])) || err != nil:
		return nil, fmt.Errorf("the file does not start as a backup (%q): %w", head[:n], ErrBadBackup)
	}
	return &chunkReader{r: br, sum: sha256.New()}, nil
}

type chunkReader struct {
	r    *bufio.Reader
	sum  hash.Hash
	left int // bytes left in the current chunk
	read int64
	done bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	if c.left == 0 {
		var hdr [4]byte
		if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
			return 0, c.truncated(err)
		}
		size := binary.BigEndian.Uint32(hdr[:])
		if size == 0 {
			return 0, c.finish()
		}
		if size > maxChunk {
			return 0, fmt.Errorf("corrupt after %d bytes (a chunk of %d bytes): %w", c.read, size, ErrBadBackup)
		}
		c.left = int(size)
	}
	n, err := c.r.Read(p[:min(len(p), c.left)])
	c.sum.Write(p[:n])
	c.left -= n
	c.read += int64(n)
	if err != nil {
		return n, c.truncated(err)
	}
	return n, nil
}

// finish checks the checksum after the end marker, and that nothing
// follows it.
func (c *chunkReader) finish() error {
	want := make([]byte, sha256.Size)
	if _, err := io.ReadFull(c.r, want); err != nil {
		return c.truncated(err)
	}
	if !bytes.Equal(want, c.sum.Sum(nil)) {
		return fmt.Errorf("the checksum does not match: the backup is corrupt: %w", ErrBadBackup)
	}
	if _, err := c.r.ReadByte(); err == nil {
		return fmt.Errorf("bytes follow the end of the backup: %w", ErrBadBackup)
	}
	c.done = true
	return io.EOF
}

func (c *chunkReader) truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the backup ends after %d bytes, before its end (truncated?): %w", c.read, ErrBadBackup)
	}
	return err
}
