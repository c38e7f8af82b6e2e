package config

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"reflect"
	"strconv"
)

// digest hashes the effective configuration, not the files: comments,
// layout, which file set a key, and where the files live don't change it.
//
// It walks the Unit with reflect rather than hashing its JSON: the
// encoding/json type cache costs ~0.25 ms the first time in a process,
// a tenth of the oneshot's own work besides the kernel's. Every field
// counts, so a field added to Unit, Object or Attach is in the digest
// without anyone remembering to add it, except the positions (File, Line
// anywhere) and the unit's own Name, Path, DropIns and Digest.
func digest(u *Unit) string {
	h := sha256.New()
	c := *u
	c.Name, c.Path, c.DropIns, c.Digest = "", "", nil, ""
	hashValue(h, reflect.ValueOf(c))
	return hex.EncodeToString(h.Sum(nil))
}

// hashValue writes v to h unambiguously: every string and list is
// length-prefixed, every struct field named.
func hashValue(h hash.Hash, v reflect.Value) {
	var buf [binary.MaxVarintLen64]byte
	num := func(n uint64) { h.Write(buf[:binary.PutUvarint(buf[:], n)]) }
	str := func(s string) { num(uint64(len(s))); h.Write([]byte(s)) }
	switch v.Kind() {
	case reflect.String:
		str(v.String())
	case reflect.Bool:
		str(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		str(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		str(strconv.FormatUint(v.Uint(), 10))
	case reflect.Slice:
		num(uint64(v.Len()))
		for i := range v.Len() {
			hashValue(h, v.Index(i))
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f, fv := t.Field(i), v.Field(i)
			// A zero field is as if absent, so that adding a field
			// keeps the digests of configs that don't use it.
			if f.Name == "File" || f.Name == "Line" || fv.IsZero() || fv.Kind() == reflect.Slice && fv.Len() == 0 {
				continue
			}
			str(f.Name)
			hashValue(h, fv)
		}
		str("")
	default:
		panic(fmt.Sprintf("config: digest of a %s", v.Kind())) // a new field kind: TestDigestCoversEveryField
	}
}
