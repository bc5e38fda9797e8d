package ignition

import (
	"fmt"
	"reflect"
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
		return convert(dst, src.Elem(), path)
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
			return fmt.Errorf("ignition: internal: cannot convert %s to %s at %s", src.Type(), dst.Type(), path)
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
			fp := path
			if !p.emb[i] {
				fp = path + "." + p.name[i]
			}
			if di < 0 {
				return &needNewer{fp}
			}
			if err := convert(dst.Field(di), sf, fp); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if dst.Kind() != reflect.Slice {
			return fmt.Errorf("ignition: internal: cannot convert %s to %s at %s", src.Type(), dst.Type(), path)
		}
		n := src.Len()
		out := reflect.MakeSlice(dst.Type(), n, n)
		for i := 0; i < n; i++ {
			if err := convert(out.Index(i), src.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dst.Set(out)
		return nil
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		if !src.Type().ConvertibleTo(dst.Type()) || src.Kind() != dst.Kind() {
			return fmt.Errorf("ignition: internal: cannot convert %s to %s at %s", src.Type(), dst.Type(), path)
		}
		dst.Set(src.Convert(dst.Type()))
		return nil
	default:
		return fmt.Errorf("ignition: internal: unsupported kind %s at %s", src.Kind(), path)
	}
}
