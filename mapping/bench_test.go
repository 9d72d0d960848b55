package mapping

import (
	"fmt"
	"testing"
)

func BenchmarkNormalize(b *testing.B) {
	b.Run("email", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = NormalizeEmail("  Jean.Dupont+crm@Example.FR ")
		}
	})
	b.Run("email_idn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = EmailKey("user@exämple.fr")
		}
	})
	b.Run("linkedin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = NormalizeLinkedIn("https://fr.linkedin.com/in/Jean%C3%A9-Dupont/?trk=x#y")
		}
	})
	b.Run("phone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = NormalizePhone("06 12 34 56 78", "FR")
		}
	})
	b.Run("phone_spellings", func(b *testing.B) {
		// 60,000 French numbers in three spellings each (as the CRMs hold
		// them): 180,000 texts, more than the memo keeps.
		const numbers = 60_000
		var texts []string
		for n := range numbers {
			d := fmt.Sprintf("06%08d", n*7919%100_000_000)
			texts = append(texts, d, d[0:2]+" "+d[2:4]+" "+d[4:6]+" "+d[6:8]+" "+d[8:10], d[0:2]+"."+d[2:4]+"."+d[4:6]+"."+d[6:8]+"."+d[8:10])
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = NormalizePhone(texts[i%len(texts)], "FR")
			i++
		}
	})
	b.Run("hash", func(b *testing.B) {
		p := Person{FirstName: "Jean", LastName: "Dupont", Emails: []string{"jean@x.fr"}, Phones: []string{"+33612345678"},
			LinkedIn: "https://www.linkedin.com/in/jean-dupont", LeadStage: StageQualified}
		set := NewFieldSet(AllFields...)
		b.ReportAllocs()
		for b.Loop() {
			_ = Hash(&p, set)
		}
	})
}
