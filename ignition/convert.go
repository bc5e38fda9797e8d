package ignition

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Conversion between the spec versions' Go types, both directions.
//
// Ignition only translates up. Every 3.x spec is a superset of the one
// before (new fields; a few string fields became *string and a few structs
// became pointers), so a 3.5 config that sets no field unknown to spec X
// maps onto X's types field by field. When a set field has no home in X,
// the config needs a newer spec; needNewer names the field so Result can
// say why it was translated.

type needNewer struct{ path string }

func (e *needNewer) Error() string { return "field " + e.path + " needs a newer spec" }

// fieldPlan maps one source struct type's fields to the destination's.
type fieldPlan struct {
	dst  []int // index in dst struct, -1 when dst lacks the field
	name []string
	emb  []bool
}

var plans sync.Map // [2]reflect.Type -> *fieldPlan

func planFor(dt, st reflect.Type) *fieldPlan {
	key := [2]reflect.Type{dt, st}
	if p, ok := plans.Load(key); ok {
		return p.(*fieldPlan)
	}
	p := &fieldPlan{}
	for i := 0; i < st.NumField(); i++ {
		sf := st.Field(i)
		idx := -1
		if df, ok := dt.FieldByName(sf.Name); ok && len(df.Index) == 1 {
			idx = df.Index[0]
		}
		name := sf.Name
		if tag, _, _ := strings.Cut(sf.Tag.Get("json"), ","); tag != "" {
			name = tag
		}
		p.dst = append(p.dst, idx)
		p.name = append(p.name, name)
		p.emb = append(p.emb, sf.Anonymous)
	}
	plans.Store(key, p)
	return p
}

// convert copies src into dst (both settable or addressable values of possibly
// different versions' types). path is the JSON path of src.
func convert(dst, src reflect.Value, path string) error {
	err := convertAt(dst, src)
	if err == nil {
		return nil
	}
	if err.newer {
		return &needNewer{path + err.rel}
	}
	return fmt.Errorf("ignition: internal: %s at %s", err.what, path+err.rel)
}

// convErr is a conversion failure. Its JSON path (rel, relative to where
// convertAt was called) is built while the error travels back up, so a
// conversion that succeeds — every field of a 300 KB config, three times
// per PatchConfig — builds no path strings at all.
type convErr struct {
	rel   string // e.g. ".storage.files[3].mode"
	newer bool   // a set field the destination type lacks (needNewer)
	what  string // otherwise: an internal error
}

func convertAt(dst, src reflect.Value) *convErr {
	// Zero structs are still walked: their empty string fields may need to
	// become non-nil pointers (see below).
	if src.IsZero() && (src.Kind() != reflect.Struct || dst.Kind() == reflect.Pointer) {
		// (A zero struct going into a pointer stays nil: 3.5's zero
		// ClevisCustom is 3.2's absent *Custom.)
		return nil
	}
	if src.Kind() == reflect.Pointer {
		// A set pointer is meaningful even when it points at a zero value
		// (enabled: false is not the same as enabled unset).
		if dst.Kind() == reflect.Pointer {
			if dst.IsNil() {
				dst.Set(reflect.New(dst.Type().Elem()))
			}
			dst = dst.Elem()
		}
		return convertAt(dst, src.Elem())
	}
	if dst.Kind() == reflect.Pointer {
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		dst = dst.Elem()
	}
	switch src.Kind() {
	case reflect.Struct:
		if dst.Kind() != reflect.Struct {
			return &convErr{what: fmt.Sprintf("cannot convert %s to %s", src.Type(), dst.Type())}
		}
		p := planFor(dst.Type(), src.Type())
		for i, di := range p.dst {
			sf := src.Field(i)
			if sf.Kind() == reflect.String && sf.Len() == 0 {
				// Ignition's translators turn a string into a *string
				// even when empty (util.StrToPtr); do the same so
				// lifting matches theirs exactly.
				if di >= 0 && dst.Field(di).Kind() == reflect.Pointer {
					dst.Field(di).Set(reflect.New(dst.Field(di).Type().Elem()))
				}
				continue
			}
			if sf.IsZero() && (sf.Kind() != reflect.Struct || di < 0) {
				continue
			}
			if di < 0 {
				e := &convErr{newer: true}
				if !p.emb[i] {
					e.rel = "." + p.name[i]
				}
				return e
			}
			if err := convertAt(dst.Field(di), sf); err != nil {
				if !p.emb[i] {
					err.rel = "." + p.name[i] + err.rel
				}
				return err
			}
		}
		return nil
	case reflect.Slice:
		if dst.Kind() != reflect.Slice {
			return &convErr{what: fmt.Sprintf("cannot convert %s to %s", src.Type(), dst.Type())}
		}
		n := src.Len()
		out := reflect.MakeSlice(dst.Type(), n, n)
		for i := 0; i < n; i++ {
			if err := convertAt(out.Index(i), src.Index(i)); err != nil {
				err.rel = "[" + strconv.Itoa(i) + "]" + err.rel
				return err
			}
		}
		dst.Set(out)
		return nil
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		if !src.Type().ConvertibleTo(dst.Type()) || src.Kind() != dst.Kind() {
			return &convErr{what: fmt.Sprintf("cannot convert %s to %s", src.Type(), dst.Type())}
		}
		// Same kind: set the value directly (reflect's Convert would
		// allocate a copy of every string, bool and number).
		switch src.Kind() {
		case reflect.String:
			dst.SetString(src.String())
		case reflect.Bool:
			dst.SetBool(src.Bool())
		case reflect.Int, reflect.Int64:
			dst.SetInt(src.Int())
		case reflect.Float64:
			dst.SetFloat(src.Float())
		}
		return nil
	default:
		return &convErr{what: fmt.Sprintf("unsupported kind %s", src.Kind())}
	}
}
